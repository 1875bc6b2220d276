-- The explain hover (K / vim.lsp.buf.hover) shows the scripted explanation in
-- Neovim's hover window; a second hover on the same code comes from the cache.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('explain hover', function()
  local explanation = '`add` returns the **sum** of its two arguments, a and b.'
  local url = H.fake_responses({ rules = { { reply = explanation, chunkSize = 8 } } })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({
    cmd = { H.bin_dir .. '/codex-lsp' },
    -- A generous hover bound: this test is about what Neovim shows, not
    -- the server's 300 ms bound (tests/tests/hover.rs tests that).
    settings = { baseUrl = url, maxRetries = 0, explain = { hover = 'auto', hoverWaitMs = 10000 } },
  })
  local buf = H.open(root .. '/lua/sample.lua')
  vim.api.nvim_win_set_cursor(0, { 2, 10 })

  local function hover_text()
    local found
    H.wait('the hover window', function()
      for _, text in ipairs(H.float_texts()) do
        if text:find('sum', 1, true) then
          found = text
          return true
        end
      end
      return false
    end)
    return found
  end

  vim.lsp.buf.hover()
  local text = hover_text()
  H.ok(text:find('returns the **sum** of its two arguments, a and b.', 1, true), 'scripted text shown:\n' .. text)
  H.eq(1, #H.model_requests(), 'one model call')
  H.eq(H.sample, H.lines(buf), 'hover never edits')

  -- Close the float, hover again: cached, no new model call.
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      vim.api.nvim_win_close(win, true)
    end
  end
  vim.lsp.buf.hover()
  text = hover_text()
  H.ok(text:find('returns the **sum**', 1, true), 'cached text shown')
  H.eq(1, #H.model_requests(), 'second hover served from the cache')
end)
