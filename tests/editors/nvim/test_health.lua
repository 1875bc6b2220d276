-- :checkhealth codex with everything in place reports no error, shows the
-- server version and never prints the API key; without the key it errors.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local function checkhealth()
  vim.cmd('checkhealth codex')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout')
  return text
end

H.run('checkhealth', function()
  local secret = 'sk-test-SECRET-' .. tostring(vim.uv.hrtime())
  vim.env.OPENAI_API_KEY = secret
  vim.env.PATH = H.bin_dir .. ':' .. vim.env.PATH
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup()
  local _, client = H.open(root .. '/lua/sample.lua')

  local version = vim.trim(vim.system({ H.bin_dir .. '/codex-lsp', '--version' }, { text = true }):wait().stdout)
  H.ok(version:match('^codex%-lsp %d+%.%d+%.%d+'), 'codex-lsp --version: ' .. version)

  local text = checkhealth()
  if vim.env.CODEX_TEST_VERBOSE then H.log(text) end
  H.ok(text:find('codex', 1, true), 'health report produced')
  H.ok(not text:find('ERROR', 1, true), 'no ERROR expected')
  H.ok(text:find('OK Neovim 0.11', 1, true), 'Neovim version OK')
  H.ok(text:find('OK ' .. version, 1, true), 'server version OK')
  H.ok(text:find('OK $OPENAI_API_KEY is set', 1, true), 'key present')
  H.ok(text:find(('OK client %d: codex-lsp'):format(client.id), 1, true), 'client attached')
  H.ok(not text:find(secret, 1, true) and not text:find('SECRET', 1, true), 'the key must never be printed')

  -- The checks can fail: no key, and a custom key variable that is unset.
  vim.env.OPENAI_API_KEY = nil
  text = checkhealth()
  H.ok(text:find('ERROR $OPENAI_API_KEY is not set', 1, true), 'missing key is an error:\n' .. text)
  require('codex').setup({ settings = { apiKeyEnv = 'MY_CODEX_KEY' } })
  vim.env.MY_CODEX_KEY = secret
  text = checkhealth()
  H.ok(text:find('OK $MY_CODEX_KEY is set', 1, true), 'apiKeyEnv honoured:\n' .. text)
  H.ok(not text:find(secret, 1, true), 'the key must never be printed')

  -- Missing binary.
  vim.lsp.config('codex', { cmd = { 'codex-lsp-does-not-exist' } })
  text = checkhealth()
  H.ok(text:find('ERROR server binary `codex-lsp-does-not-exist` not found', 1, true), 'missing binary:\n' .. text)
end)
