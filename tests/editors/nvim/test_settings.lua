-- Settings given to require('codex').setup{} reach the server: at start-up
-- (initializationOptions + workspace/configuration) and when changed later
-- (didChangeConfiguration, then the server pulls section `codex`). A bad value
-- is reported by the server naming the setting, which proves it read ours.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

H.run('settings', function()
  local root = H.workspace({ ['lua/sample.lua'] = H.sample })

  -- What Neovim answers to workspace/configuration.
  local answers = {}
  local orig = vim.lsp.handlers['workspace/configuration']
  vim.lsp.handlers['workspace/configuration'] = function(err, params, ctx)
    local res = orig(err, params, ctx)
    table.insert(answers, { items = params.items, result = vim.deepcopy(res) })
    return res
  end

  local settings = {
    model = 'test-model',
    baseUrl = 'http://127.0.0.1:9/v1',
    reasoningEffort = { rewrite = 'low' },
    explain = { hover = 'off' },
  }
  require('codex').setup({ cmd = { H.bin_dir .. '/codex-lsp' }, settings = settings })
  local init_options
  local cfg = vim.lsp.config['codex']
  H.eq(settings, cfg.settings.codex, 'setup merged settings into vim.lsp.config')
  local params = {}
  cfg.before_init(params, cfg)
  init_options = params.initializationOptions
  H.eq(settings, init_options, 'initializationOptions carry the settings')

  local _, client = H.open(root .. '/lua/sample.lua')
  H.wait('the server to pull section codex', function()
    return #answers > 0
  end)
  H.eq('codex', answers[1].items[1].section, 'section asked for')
  H.eq(settings, answers[1].result[1], 'workspace/configuration answer')
  vim.wait(300)
  H.eq({}, H.messages(), 'valid settings must not produce a message')

  -- Change at run time to an invalid value: the server pulls it and names it.
  require('codex').setup({ settings = { reasoningEffort = { fix = 'extreme' } } })
  H.wait('the server to reject codex.reasoningEffort.fix', function()
    return H.find_message('reasoningEffort.fix') ~= nil
  end)
  H.eq('low', client.settings.codex.reasoningEffort.rewrite, 'earlier settings kept in the merge')

  -- init_options given the plain vim.lsp.config way are answered to
  -- workspace/configuration too (a null/empty answer would reset them).
  client:stop(true)
  H.wait('client to stop', function()
    return client:is_stopped()
  end)
  vim.lsp.enable('codex', false)
  vim.lsp.config('codex', {
    init_options = { maxConcurrentRequests = 2 },
    settings = { codex = { reasoningEffort = { fix = 'medium' } } },
  })
  answers = {}
  vim.lsp.enable('codex')
  vim.cmd.edit({ bang = true })
  H.wait('the server to pull section codex again', function()
    return #answers > 0
  end)
  H.eq(2, answers[1].result[1].maxConcurrentRequests, 'init_options mirrored into the answer')
  H.eq('test-model', answers[1].result[1].model, 'settings kept')
  client = vim.lsp.get_clients({ name = 'codex' })[1]

  -- A bad value at start-up is reported as well.
  H.clear_messages()
  client:stop(true)
  H.wait('client to stop', function()
    return client:is_stopped()
  end)
  vim.lsp.enable('codex', false)
  vim.lsp.config('codex', { settings = { codex = { maxRetries = -1 } } })
  vim.lsp.enable('codex')
  vim.cmd.edit({ bang = true })
  H.wait('the server to reject codex.maxRetries at start-up', function()
    return H.find_message('maxRetries') ~= nil
  end)
end)
