-- :CodexRefine {instruction} continues the buffer's last Codex edit: after
-- :CodexRewrite lands, the refine's model request carries the first
-- conversation and the new instruction, and its edit applies to the current
-- buffer text. Without an argument it asks with vim.ui.input.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('refine', function()
  local instruction = 'put spaces around binary operators'
  local refinement = 'return the sum through a local named total'
  local refined = table.concat({
    'local function add(a, b)',
    '  local total = a + b',
    '  return total',
    'end',
    '',
    'return add',
    '',
  }, '\n')
  local refine_patch = table.concat({
    '*** Begin Patch',
    '*** Update File: lua/sample.lua',
    '@@',
    ' local function add(a, b)',
    '-  return a + b',
    '+  local total = a + b',
    '+  return total',
    ' end',
    '*** End Patch',
  }, '\n')
  local url = H.fake_responses({
    rules = {
      -- The refine's request also holds the first instruction: matched first.
      { match = refinement, reply = refine_patch },
      { match = instruction, reply = H.sample_patch },
    },
  })
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })
  require('codex').setup({
    cmd = { H.bin_dir .. '/codex-lsp' },
    settings = { baseUrl = url, maxRetries = 0 },
  })
  local buf = H.open(root .. '/lua/sample.lua')

  vim.cmd('1,3CodexRewrite ' .. instruction)
  H.wait('the rewrite to land', function()
    return H.lines(buf) == H.sample_fixed
  end)

  local asked = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(asked, opts.prompt)
    on_confirm(refinement)
  end
  vim.cmd('CodexRefine')
  H.wait('the refined edit to land', function()
    return H.lines(buf) == refined
  end)
  H.eq({ 'Codex refine: ' }, asked, 'asked once for the instruction')
  local sent = H.model_requests_text()
  H.ok(sent:find('Refine the edit as the user asks: ' .. refinement, 1, true), 'the refinement reached the model')
  H.ok(sent:find('The user applied your edit.', 1, true), 'the model heard the edit was applied')
end)
