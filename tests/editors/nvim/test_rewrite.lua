-- :CodexRewrite {instruction} sends the instruction to the model, the buffer
-- becomes exactly the scripted result, one `u` undoes it, and progress goes
-- through Neovim's LspProgress. The "Codex: Rewrite…" entry of the standard
-- code-action menu prompts with vim.ui.input and does the same.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('rewrite', function()
  local instruction = 'put spaces around binary operators'
  local url = H.fake_responses({
    rules = { { match = instruction, reply = H.sample_patch, chunkSize = 16 } },
  })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({
    cmd = { H.bin_dir .. '/codex-lsp' },
    settings = { baseUrl = url, model = 'test-model-from-neovim', maxRetries = 0 },
  })
  local progress = H.record_progress()
  local buf = H.open(root .. '/lua/sample.lua')
  H.eq(H.sample, H.lines(buf), 'initial text')

  -- 1. Command with the instruction as argument, on lines 1-3.
  vim.cmd('1,3CodexRewrite ' .. instruction)
  H.wait('the rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.eq(H.sample_fixed, H.lines(buf), 'buffer is exactly the scripted result')
  local sent = H.model_requests_text()
  H.ok(sent:find(instruction, 1, true), 'instruction reached the model')
  H.ok(sent:find('test-model-from-neovim', 1, true), 'model setting reached the model request')
  H.wait('progress end', function()
    return vim.iter(progress):any(function(e)
      return e.kind == 'end'
    end)
  end)
  H.ok(vim.iter(progress):any(function(e)
    return e.kind == 'begin' and (e.title or ''):find('Codex', 1, true)
  end), 'LspProgress begin titled Codex: ' .. vim.inspect(progress))

  vim.cmd('silent normal! u')
  H.eq(H.sample, H.lines(buf), 'one u restores the original text')

  -- 2. The standard code-action menu: "Codex: Rewrite…" asks for the
  --    instruction through vim.ui.input (client-side codex.runAction).
  local asked
  vim.ui.input = function(opts, on_confirm)
    asked = opts.prompt
    on_confirm(instruction)
  end
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  vim.lsp.buf.code_action({
    context = { only = { 'refactor.rewrite.codex.rewrite' }, diagnostics = {} },
    apply = true,
  })
  H.wait('the menu rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.ok(asked, 'vim.ui.input was used for the instruction')
  vim.cmd('silent normal! u')
  H.eq(H.sample, H.lines(buf), 'one u restores the original text (menu path)')

  -- 3. :CodexRewrite without argument prompts too.
  asked = nil
  vim.cmd('CodexRewrite')
  H.wait('the prompted rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.ok(asked, 'prompted for the instruction')
  H.eq(3, #H.model_requests(), 'three model calls')
end)
