-- The buffer changes where the model is editing while it works (delayMs):
-- the edit is refused, the buffer keeps the user's text, and the user is told
-- "the document changed; run the action again". Both execution paths: the
-- rewrite command (workspace/executeCommand + applyEdit) and the quick fix
-- (codeAction/resolve).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('stale edit', function()
  local url = H.fake_responses({ rules = { { reply = H.sample_patch, delayMs = 1500 } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = { baseUrl = url, maxRetries = 0 } })
  local buf = H.open(root .. '/lua/sample.lua')

  local function edit_while_model_thinks(n, new_line)
    H.wait('model call ' .. n .. ' to start', function()
      return #H.model_requests() >= n
    end)
    vim.api.nvim_buf_set_lines(buf, 1, 2, true, { new_line })
  end

  local function assert_refused(expected, what)
    H.wait('the user to be told (' .. what .. ')', function()
      return H.find_message('the document changed') ~= nil
    end)
    vim.wait(500)
    H.eq(expected, H.lines(buf), 'buffer keeps the user edit (' .. what .. ')')
  end

  -- 1. Rewrite: command path.
  vim.cmd('1,3CodexRewrite add spaces')
  edit_while_model_thinks(1, '  return a+b -- edited by the user')
  local expected = H.sample:gsub('  return a%+b\n', '  return a+b -- edited by the user\n', 1)
  assert_refused(expected, 'rewrite')

  -- 2. Quick fix: resolve path.
  H.clear_messages()
  vim.api.nvim_buf_set_lines(buf, 1, 2, true, { '  return a+b' })
  local ns = vim.api.nvim_create_namespace('test-lint')
  vim.diagnostic.set(ns, buf, { { lnum = 1, col = 9, end_col = 12, message = 'spacing' } })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  edit_while_model_thinks(2, '  return (a+b)')
  expected = H.sample:gsub('  return a%+b\n', '  return (a+b)\n', 1)
  assert_refused(expected, 'quick fix')
end)
