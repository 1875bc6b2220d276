-- :CodexExplain runs the server's "Explain this code" action (codex.explain)
-- and shows the scripted Markdown in a floating window; nothing is edited.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('explain command', function()
  local explanation = 'This function **adds** two numbers and returns the result.'
  local url = H.fake_responses({ rules = { { reply = explanation } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = { baseUrl = url, maxRetries = 0 } })
  local buf = H.open(root .. '/lua/sample.lua')
  local bufs_before = #vim.api.nvim_list_bufs()

  vim.cmd('1,3CodexExplain')
  local shown
  H.wait('the explanation window', function()
    for _, text in ipairs(H.float_texts()) do
      if text:find('adds', 1, true) then
        shown = text
        return true
      end
    end
  end)
  H.ok(shown:find('This function **adds** two numbers and returns the result.', 1, true), 'scripted text shown:\n' .. shown)
  H.eq(H.sample, H.lines(buf), 'explain never edits')
  vim.wait(300)
  -- No stray empty buffer from window/showDocument of a virtual document.
  local named = vim.tbl_filter(function(b)
    return vim.api.nvim_buf_get_name(b):match('^%a[%w+.-]*:') and not vim.api.nvim_buf_get_name(b):match('^/')
  end, vim.api.nvim_list_bufs())
  H.eq({}, vim.tbl_map(vim.api.nvim_buf_get_name, named), 'no virtual-document buffers opened')
  H.ok(#vim.api.nvim_list_bufs() <= bufs_before + 1, 'at most the float buffer was added')
end)
