-- codex-lsp user commands. Kept tiny: nothing is required until a command runs.
if vim.g.loaded_codex then
  return
end
vim.g.loaded_codex = true

if vim.fn.has('nvim-0.11') == 0 then
  return
end

vim.api.nvim_create_user_command('CodexRewrite', function(opts)
  require('codex').rewrite(opts.args ~= '' and opts.args or nil, opts)
end, { nargs = '*', range = true, desc = 'Codex: rewrite the selection with an instruction' })

vim.api.nvim_create_user_command('CodexExplain', function(opts)
  require('codex').explain(opts)
end, { range = true, desc = 'Codex: explain the selection or the code under the cursor' })

vim.api.nvim_create_user_command('CodexFix', function(opts)
  require('codex').fix(opts)
end, { range = true, desc = 'Codex: fix the diagnostics on the line or selection' })

vim.api.nvim_create_user_command('CodexRefine', function(opts)
  require('codex').refine(opts.args ~= '' and opts.args or nil)
end, { nargs = '*', desc = 'Codex: refine the last Codex edit of the buffer with an instruction' })

vim.api.nvim_create_user_command('CodexUsage', function()
  require('codex').show_usage()
end, { desc = 'Codex: what the last call and this session cost' })
