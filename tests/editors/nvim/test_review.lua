-- Review before apply on Neovim 0.11 (setting confirmEdits): the plugin
-- announces change annotations, the server sends the fix on the command
-- path with an annotation that needs confirmation, and the plugin shows it
-- as a diff in a floating window. `r` rejects it (the buffer is unchanged,
-- the server says so once); `a` applies it, unless the buffer changed
-- during the review.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

--- The review window, once one is open.
local function review_window()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local buf = vim.api.nvim_win_get_buf(win)
    if vim.b[buf].codex_review and vim.api.nvim_win_get_config(win).relative ~= '' then
      return win, buf
    end
  end
end

local function wait_for_review()
  local win, buf
  H.wait('the review window', function()
    win, buf = review_window()
    return win ~= nil
  end)
  return win, buf
end

-- window/showMessage of type Info is echoed, not vim.notify()'d: record
-- what the server shows.
local shown = {}
local show_message = vim.lsp.handlers['window/showMessage']
vim.lsp.handlers['window/showMessage'] = function(err, params, ctx)
  table.insert(shown, params.message)
  return show_message(err, params, ctx)
end

local function count_messages(needle)
  local n = 0
  for _, m in ipairs(shown) do
    if m:find(needle, 1, true) then
      n = n + 1
    end
  end
  return n
end

H.run('review before apply', function()
  local message = "missing spaces around '+'"
  local url = H.fake_responses({ rules = { { match = 'missing spaces around', reply = H.sample_patch } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({
    cmd = { H.bin_dir .. '/codex-lsp' },
    settings = { baseUrl = url, maxRetries = 0, confirmEdits = 'always' },
  })
  local buf, client = H.open(root .. '/lua/sample.lua')
  local caps = client.capabilities.workspace.workspaceEdit
  H.ok(caps.changeAnnotationSupport ~= nil and caps.documentChanges == true, 'annotations announced: ' .. vim.inspect(caps))

  local ns = vim.api.nvim_create_namespace('test-lint')
  vim.diagnostic.set(ns, buf, {
    { lnum = 1, col = 9, end_lnum = 1, end_col = 12, message = message, severity = vim.diagnostic.severity.WARN, source = 'test-lint' },
  })
  -- Neovim resolves edits, but a reviewed edit takes the command path.
  local res = client:request_sync('textDocument/codeAction', {
    textDocument = vim.lsp.util.make_text_document_params(buf),
    range = { start = { line = 1, character = 0 }, ['end'] = { line = 1, character = 0 } },
    context = { diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(buf)), only = { 'quickfix' } },
  }, 5000, buf)
  local fix = (res and res.result or {})[1]
  H.ok(fix and type(fix.command) == 'table' and fix.command.command == 'codex.runAction', 'command path: ' .. vim.inspect(res))

  -- 1. Rejected: nothing changes, and the server says so once.
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  local win, review = wait_for_review()
  local shown = table.concat(vim.api.nvim_buf_get_lines(review, 0, -1, false), '\n')
  H.ok(shown:find('-  return a+b', 1, true) and shown:find('+  return a + b', 1, true), 'the diff is shown:\n' .. shown)
  H.ok(shown:find('+++ b/', 1, true), 'with file headers:\n' .. shown)
  H.ok(shown:find('gpt-5', 1, true), 'and the description (model, usage):\n' .. shown)
  H.eq(win, vim.api.nvim_get_current_win(), 'the review window has the focus')
  H.eq(H.sample, H.lines(buf), 'nothing applied while the review is open')
  vim.api.nvim_feedkeys('r', 'x', false)
  H.wait('the rejection to be told', function()
    return count_messages('rejected in review') > 0
  end)
  H.ok(review_window() == nil, 'the review window closed')
  H.eq(H.sample, H.lines(buf), 'a rejected edit changes nothing')
  H.eq(1, count_messages('rejected in review'), 'told once')

  -- 2. Accepted: the fix lands, and one u undoes it.
  vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  wait_for_review()
  vim.api.nvim_feedkeys('a', 'x', false)
  H.wait('the fix to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.ok(review_window() == nil, 'the review window closed')
  H.eq(1, count_messages('rejected in review'), 'no further message')
  vim.cmd('silent normal! u')
  H.eq(H.sample, H.lines(buf), 'one u restores the original text')

  -- 3. Accepted after the buffer changed during the review: nothing is
  -- applied (the edit was made for the older text), and the user is told.
  vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  wait_for_review()
  vim.api.nvim_buf_set_lines(buf, 0, 0, false, { '-- edited meanwhile' })
  local edited = H.lines(buf)
  vim.api.nvim_feedkeys('a', 'x', false)
  H.wait('the stale edit to be refused', function()
    return count_messages('changed during the review') > 0
  end)
  H.eq(edited, H.lines(buf), 'a stale edit changes nothing')
end)
