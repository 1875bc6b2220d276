-- :CodexExplain runs the server's "Explain this code" action (codex.explain):
-- the server shows the scripted Markdown with window/showDocument, which
-- Neovim opens in a split; the cursor stays in the code, nothing is edited.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('explain command', function()
  local explanation = 'This function **adds** two numbers and returns the result.'
  local url = H.fake_responses({ rules = { { reply = explanation } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = { baseUrl = url, maxRetries = 0 } })
  local buf = H.open(root .. '/lua/sample.lua')
  local code_win = vim.api.nvim_get_current_win()

  vim.cmd('1,3CodexExplain')
  local shown, shown_buf
  H.wait('a window showing the explanation', function()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      local b = vim.api.nvim_win_get_buf(win)
      local text = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n')
      if b ~= buf and text:find('adds', 1, true) then
        shown, shown_buf = text, b
        return true
      end
    end
    return false
  end)
  H.ok(shown:find(explanation, 1, true), 'scripted text shown:\n' .. shown)
  H.ok(vim.api.nvim_buf_get_name(shown_buf):match('%.md$'), 'a Markdown document: ' .. vim.api.nvim_buf_get_name(shown_buf))
  H.eq(code_win, vim.api.nvim_get_current_win(), 'focus stays in the code window')
  H.eq(buf, vim.api.nvim_win_get_buf(code_win), 'the code window still shows the code')
  H.eq(H.sample, H.lines(buf), 'explain never edits')
  H.eq(1, #H.model_requests(), 'one model call')
  H.eq({}, vim.tbl_filter(function(m)
    return m.level == vim.log.levels.ERROR
  end, H.messages()), 'no error shown')
end)
