-- :CodexRewrite {instruction} sends the instruction to the model without
-- asking, the buffer becomes exactly the scripted result, one `u` undoes it,
-- and progress goes through Neovim's LspProgress. The "Codex: Rewrite…" entry
-- of the standard code-action menu (vim.ui.select) and :CodexRewrite without
-- an argument both ask with vim.ui.input (the codex.runAction handler) and do
-- the same.
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

  -- Every vim.ui.input() prompt, answered with the instruction.
  local asked = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(asked, opts.prompt)
    on_confirm(instruction)
  end

  -- 1. Command with the instruction as argument, on lines 1-3: no prompt.
  vim.cmd('1,3CodexRewrite ' .. instruction)
  H.wait('the rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.eq(H.sample_fixed, H.lines(buf), 'buffer is exactly the scripted result')
  local sent = H.model_requests_text()
  H.ok(sent:find(instruction, 1, true), 'instruction reached the model')
  H.ok(sent:find('test-model-from-neovim', 1, true), 'model setting reached the model request')
  H.eq({}, asked, 'an instruction given as argument is not asked for')
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

  -- 2. The standard code-action menu (vim.lsp.buf.code_action(), `gra`):
  --    picking "Codex: Rewrite…" asks for the instruction.
  local offered
  vim.ui.select = function(items, opts, on_choice)
    offered = vim.tbl_map(function(item)
      return opts.format_item(item)
    end, items)
    for _, item in ipairs(items) do
      if item.action.title == 'Codex: Rewrite…' then
        return on_choice(item)
      end
    end
    on_choice(nil)
  end
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  vim.lsp.buf.code_action()
  H.wait('the menu rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.ok(offered and vim.list_contains(offered, 'Codex: Simplify'), 'the menu lists the Codex actions: ' .. vim.inspect(offered))
  H.eq({ 'Codex rewrite: ' }, asked, 'vim.ui.input asked for the instruction once')
  vim.cmd('silent normal! u')
  H.eq(H.sample, H.lines(buf), 'one u restores the original text (menu path)')

  -- 3. :CodexRewrite without argument asks too.
  asked = {}
  vim.cmd('CodexRewrite')
  H.wait('the prompted rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)
  H.eq({ 'Codex rewrite: ' }, asked, 'prompted for the instruction once')
  H.eq(3, #H.model_requests(), 'three model calls')
  local n_with_instruction = 0
  for _, r in ipairs(H.model_requests()) do
    if vim.json.encode(r):find(instruction, 1, true) then
      n_with_instruction = n_with_instruction + 1
    end
  end
  H.eq(3, n_with_instruction, 'every call carried the instruction')
end)
