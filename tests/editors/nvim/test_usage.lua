-- :CodexUsage and :checkhealth codex show what the last call cost (from the
-- server's codex/status: price table of the default model, gpt-5.3-codex)
-- and the session total; before any call they say so.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local function checkhealth()
  vim.cmd('checkhealth codex')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout')
  return text
end

H.run('usage and cost', function()
  local message = "missing spaces around '+'"
  local url = H.fake_responses({ rules = { { match = 'missing spaces around', reply = H.sample_patch } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = { baseUrl = url, maxRetries = 0 } })
  local buf, client = H.open(root .. '/lua/sample.lua')

  H.clear_messages()
  vim.cmd('CodexUsage')
  H.ok(H.find_message('no Codex model call yet'), 'before any call, :CodexUsage says so')

  local ns = vim.api.nvim_create_namespace('test-lint')
  vim.diagnostic.set(ns, buf, {
    { lnum = 1, col = 9, end_lnum = 1, end_col = 12, message = message, severity = vim.diagnostic.severity.WARN, source = 'test-lint' },
  })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('CodexFix')
  H.wait('the fix to land and its usage to arrive', function()
    local entry = require('codex').usage[client.id]
    return H.lines(buf) == H.sample_fixed and entry ~= nil and entry.usage ~= nil
  end)
  local usage = require('codex').usage[client.id].usage
  H.ok(type(usage.costUsd) == 'number' and usage.costUsd > 0, 'the server priced the call: ' .. vim.inspect(usage))

  H.clear_messages()
  vim.cmd('CodexUsage')
  local found = H.find_message("input tokens cached")
  local shown = found and found.msg
  H.ok(shown, ':CodexUsage shows the last call')
  H.ok(shown:find('with gpt-5.3-codex', 1, true), 'names the model: ' .. shown)
  H.ok(shown:find(': $0.0', 1, true), 'shows the cost: ' .. shown)
  H.ok(shown:find('this session: $0.0', 1, true) and shown:find('in 1 request', 1, true), 'shows the session total: ' .. shown)

  local text = checkhealth()
  H.ok(text:find('Cost', 1, true), 'health has a Cost section:\n' .. text)
  H.ok(text:find(usage.summary, 1, true), 'health shows the last call: ' .. usage.summary .. '\n' .. text)
end)
