-- :checkhealth codex
local M = {}

local health = vim.health

---@return vim.lsp.Config
local function config()
  return vim.lsp.config['codex'] or {}
end

--- The server settings as the client would send them.
---@return table
local function settings()
  local cfg = config()
  local s = vim.tbl_deep_extend('force', cfg.init_options or {}, (cfg.settings or {}).codex or {})
  -- Running clients may have been given newer settings.
  local client = vim.lsp.get_clients({ name = 'codex' })[1]
  if client and type(client.settings) == 'table' and type(client.settings.codex) == 'table' then
    s = vim.tbl_deep_extend('force', s, client.settings.codex)
  end
  return s
end

local function check_version()
  health.start('Neovim')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim ' .. tostring(vim.version()) .. ' is too old', 'codex-lsp needs Neovim 0.11 or newer')
  end
end

local function check_server()
  health.start('codex-lsp server')
  local cmd = config().cmd
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    health.info('`cmd` is not a command list; the server binary cannot be checked')
    return
  end
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(
      ('server binary `%s` not found'):format(cmd[1]),
      { 'Install it with `cargo install --path server` and put it on $PATH', "or set `cmd` with vim.lsp.config('codex', { cmd = { '/path/to/codex-lsp' } })" }
    )
    return
  end
  local ok, res = pcall(function()
    return vim.system({ exe, '--version' }, { text = true }):wait(5000)
  end)
  if not ok or res.code ~= 0 then
    health.error(('`%s --version` failed: %s'):format(exe, ok and vim.trim(res.stderr or '') or tostring(res)))
    return
  end
  health.ok(('%s (%s)'):format(vim.trim(res.stdout), exe))
end

local function check_key()
  health.start('API key')
  local s = settings()
  local provider = s.provider or 'openai'
  if provider == 'none' then
    health.ok('provider `none`: no API key needed')
    return
  end
  local name = s.apiKeyEnv or 'OPENAI_API_KEY'
  -- The server reads the key from its own environment: cmd_env, else ours.
  local env = config().cmd_env or {}
  local value = env[name]
  if value == nil then
    value = vim.env[name]
  end
  -- Never print the value, not even a prefix or its length.
  if type(value) == 'string' and value ~= '' then
    health.ok(('$%s is set'):format(name))
  else
    health.error(
      ('$%s is not set'):format(name),
      ('Export %s in the environment Neovim starts from (the server inherits it), or set `apiKeyEnv`'):format(name)
    )
  end
end

local function check_clients()
  health.start('LSP client')
  if not vim.lsp.is_enabled('codex') and #vim.lsp.get_clients({ name = 'codex' }) == 0 then
    health.warn("the `codex` config is not enabled", "Add vim.lsp.enable('codex') (or require('codex').setup()) to your config")
  end
  local clients = vim.lsp.get_clients({ name = 'codex' })
  if #clients == 0 then
    health.warn('no codex-lsp client is running', 'Open a file inside a project; see :LspInfo / :checkhealth vim.lsp')
    return
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    local bufs = vim.tbl_keys(client.attached_buffers)
    health.ok(
      ('client %d: %s %s, root %s, %d buffer(s) attached, position encoding %s'):format(
        client.id,
        info.name or '?',
        info.version or '?',
        client.root_dir or '(none)',
        #bufs,
        client.offset_encoding
      )
    )
  end
end

local function check_usage()
  health.start('Cost')
  for _, line in ipairs(require('codex').usage_lines()) do
    health.info(line)
  end
end

function M.check()
  check_version()
  check_server()
  check_key()
  check_clients()
  check_usage()
end

return M
