-- The buffer changes while the model works (delayMs). Where the change
-- overlaps the model's edit, the edit is refused, the buffer keeps the user's
-- text, and the user is told "the document changed"; both execution paths:
-- the rewrite command (workspace/executeCommand + applyEdit) and the quick
-- fix (codeAction/resolve). A change outside the lines the model rewrites is
-- kept and the model's edit is rebased over it (a change on a rewritten line
-- is a conflict, even away from the changed characters).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('stale edit', function()
  local url = H.fake_responses({ rules = { { reply = H.sample_patch, delayMs = 1500 } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = { baseUrl = url, maxRetries = 0 } })
  local buf = H.open(root .. '/lua/sample.lua')

  local function edit_while_model_thinks(n, new_line, row)
    row = row or 1
    H.wait('model call ' .. n .. ' to start', function()
      return #H.model_requests() >= n
    end)
    vim.api.nvim_buf_set_lines(buf, row, row + 1, true, { new_line })
  end

  local function assert_refused(expected, what)
    H.wait('the user to be told (' .. what .. ')', function()
      return H.find_message('the document changed') ~= nil
    end)
    H.log(('told the user (%s): %s'):format(what, H.find_message('the document changed').msg))
    vim.wait(500)
    H.eq(expected, H.lines(buf), 'buffer keeps the user edit (' .. what .. ')')
  end

  -- 1. Rewrite (command path), the user replaces the very `+` the model edits.
  vim.cmd('1,3CodexRewrite add spaces')
  edit_while_model_thinks(1, '  return a-b')
  local expected = H.sample:gsub('  return a%+b\n', '  return a-b\n', 1)
  assert_refused(expected, 'rewrite')

  -- 2. Quick fix (resolve path), same kind of overlapping change.
  H.clear_messages()
  vim.api.nvim_buf_set_lines(buf, 1, 2, true, { '  return a+b' })
  local ns = vim.api.nvim_create_namespace('test-lint')
  vim.diagnostic.set(ns, buf, { { lnum = 1, col = 9, end_col = 12, message = 'spacing' } })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  edit_while_model_thinks(2, '  return a*b')
  expected = H.sample:gsub('  return a%+b\n', '  return a*b\n', 1)
  assert_refused(expected, 'quick fix')

  -- 3. A change outside the lines the edit rewrites: both survive (rebase).
  H.clear_messages()
  vim.api.nvim_buf_set_lines(buf, 1, 2, true, { '  return a+b' })
  vim.cmd('1,3CodexRewrite add spaces')
  edit_while_model_thinks(3, 'return add -- edited by the user', 4)
  H.wait('the rebased edit to land', function()
    return H.lines(buf):find('  return a + b\n', 1, true) ~= nil
  end)
  H.eq(H.sample_fixed:gsub('return add\n', 'return add -- edited by the user\n', 1), H.lines(buf), 'rebased result')
  H.eq(nil, H.find_message('the document changed'), 'nothing to tell')
end)
