-- vim.lsp.enable('codex') alone starts codex-lsp from $PATH, attaches to any
-- real file of the project, and the plugin stays lazy.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('attach', function()
  -- plugin/codex.lua ran at startup but required nothing.
  H.eq(true, vim.g.loaded_codex, 'plugin/codex.lua was not sourced')
  H.eq(nil, package.loaded['codex'], 'plugin/codex.lua must not require the module')
  for _, cmd in ipairs({ 'CodexRewrite', 'CodexExplain', 'CodexFix' }) do
    H.eq(2, vim.fn.exists(':' .. cmd), ':' .. cmd .. ' is not defined')
  end

  vim.env.PATH = H.bin_dir .. ':' .. vim.env.PATH
  local root = H.workspace({ ['lua/sample.lua'] = H.sample, ['notes.txt'] = 'plain text\n' })
  vim.lsp.enable('codex')

  local buf, client = H.open(root .. '/lua/sample.lua')
  H.eq('codex-lsp', (client.server_info or {}).name, 'serverInfo.name')
  H.eq(root, client.root_dir, 'root_dir comes from root_markers (.git)')
  H.eq('utf-8', client.offset_encoding, 'server should pick utf-8, which Neovim offers')
  H.ok(client.server_capabilities.codeActionProvider, 'codeActionProvider advertised')
  local cmds = client.server_capabilities.executeCommandProvider.commands
  H.ok(vim.list_contains(cmds, 'codex.runAction') and vim.list_contains(cmds, 'codex.explain'), 'commands advertised')

  -- filetypes = nil: a text file of the same project attaches to the same client.
  local buf2 = H.open(root .. '/notes.txt')
  H.eq(1, #vim.lsp.get_clients({ name = 'codex' }), 'one client per root')
  H.ok(vim.lsp.buf_is_attached(buf2, client.id), 'text file attached')
  H.ok(vim.lsp.buf_is_attached(buf, client.id), 'lua file still attached')

  -- Scratch buffers are not files: no attach.
  local scratch = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_set_current_buf(scratch)
  vim.wait(300)
  H.eq(false, vim.lsp.buf_is_attached(scratch, client.id), 'scratch buffer must not attach')

  -- Default (empty) settings are accepted: the server complained about nothing.
  vim.wait(500)
  H.eq({}, H.messages(), 'no message expected from the server')
end)
