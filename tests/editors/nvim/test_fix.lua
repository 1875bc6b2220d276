-- :CodexFix sends a diagnostic published with vim.diagnostic.set (any source,
-- not only LSP) to the server's "Fix with Codex" quick fix, and the scripted
-- fix lands in the buffer, undone by one `u`.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('diagnostic quick fix', function()
  local message = "missing spaces around '+'"
  local url = H.fake_responses({ rules = { { match = 'missing spaces around', reply = H.sample_patch } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = { baseUrl = url, maxRetries = 0 } })
  local buf, client = H.open(root .. '/lua/sample.lua')

  -- The quick fix is offered for the diagnostic, titled after its message.
  local ns = vim.api.nvim_create_namespace('test-lint')
  vim.diagnostic.set(ns, buf, {
    { lnum = 1, col = 9, end_lnum = 1, end_col = 12, message = message, severity = vim.diagnostic.severity.WARN, source = 'test-lint' },
  })
  local res = client:request_sync('textDocument/codeAction', {
    textDocument = vim.lsp.util.make_text_document_params(buf),
    range = { start = { line = 1, character = 0 }, ['end'] = { line = 1, character = 0 } },
    context = { diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(buf)), only = { 'quickfix' } },
  }, 5000, buf)
  H.ok(res and not res.err, 'codeAction request: ' .. vim.inspect(res))
  local titles = vim.tbl_map(function(a)
    return a.title .. ' [' .. tostring(a.kind) .. ']'
  end, res.result or {})
  H.ok(vim.list_contains(titles, 'Fix with Codex: ' .. message .. ' [quickfix.codex]'), 'quick fix offered: ' .. vim.inspect(titles))

  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  H.wait('the fix to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.eq(H.sample_fixed, H.lines(buf), 'buffer is exactly the scripted fix')
  H.ok(H.model_requests_text():find('missing spaces around', 1, true), 'diagnostic message reached the model')
  vim.cmd('silent normal! u')
  H.eq(H.sample, H.lines(buf), 'one u restores the original text')

  -- Without a diagnostic on the line, :CodexFix says so and calls nothing.
  vim.diagnostic.reset(ns, buf)
  H.clear_messages()
  vim.cmd('CodexFix')
  H.ok(H.find_message('no diagnostics'), 'user told there is nothing to fix')
  H.eq(1, #H.model_requests(), 'no second model call')
end)
