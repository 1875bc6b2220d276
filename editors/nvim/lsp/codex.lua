-- Configuration of the codex-lsp language server for Neovim >= 0.11.
--
-- Found on 'runtimepath' by |vim.lsp.config()|, so that
--
--     vim.lsp.enable('codex')
--
-- is all a user needs. Override any field with vim.lsp.config('codex', {...})
-- or require('codex').setup{...}. Settings live in `settings.codex` (the
-- schema of `codex-lsp --print-default-settings`); they are sent both as
-- initializationOptions and as the answer to workspace/configuration.

---@type vim.lsp.Config
return {
  cmd = { 'codex-lsp' },
  -- nil: every buffer that is a real file (buftype ''), whatever its filetype.
  filetypes = nil,
  -- Read by root_dir below; override with vim.lsp.config('codex', { root_markers = {...} }).
  root_markers = { '.git', '.hg', '.jj', '.svn', '.codex' },
  -- Only buffers backed by a file on disk (not [No Name], not fugitive://,
  -- oil://, ...). Without a marker the file's folder is the workspace, since
  -- the server resolves the model's edits against a workspace root.
  root_dir = function(bufnr, on_dir)
    local name = vim.api.nvim_buf_get_name(bufnr)
    if name == '' or name:match('^%a[%w+.-]*://') then
      return
    end
    local markers = (vim.lsp.config['codex'] or {}).root_markers or { '.git' }
    on_dir(vim.fs.root(bufnr, markers) or vim.fs.dirname(name))
  end,
  init_options = {},
  settings = { codex = {} },
  -- init_options and settings.codex are one thing for codex-lsp: merge them
  -- and send the result both ways, so the workspace/configuration answer
  -- never undoes initializationOptions.
  before_init = function(params, config)
    local settings = (config.settings or {}).codex or {}
    local options = vim.tbl_deep_extend('force', config.init_options or {}, settings)
    -- An empty Lua table would be encoded as a JSON array.
    options = next(options) and options or vim.empty_dict()
    params.initializationOptions = options
    if type(config.settings) == 'table' then
      config.settings.codex = options -- the same table as client.settings
    end
  end,
  -- Review before apply (setting confirmEdits): Neovim 0.11 neither
  -- announces nor honours change annotations, so the plugin does. It
  -- announces `changeAnnotationSupport` (and `documentChanges`, which
  -- carries the annotations), and shows an edit the server wants reviewed
  -- (an annotation with needsConfirmation) as a diff in a floating window
  -- before applying it (|codex-review|). Later versions do it themselves.
  capabilities = vim.fn.has('nvim-0.12') == 0 and {
    workspace = {
      workspaceEdit = { documentChanges = true, changeAnnotationSupport = { groupsOnLabel = false } },
    },
  } or nil,
  handlers = {
    -- codex/status: what the last action cost and the session total, for
    -- :CodexUsage and :checkhealth codex.
    ['codex/status'] = function(_, params, ctx)
      require('codex')._status(params, ctx)
    end,
    -- Review before apply on 0.11 (above); nil leaves Neovim's own.
    ['workspace/applyEdit'] = vim.fn.has('nvim-0.12') == 0 and function(err, params, ctx)
      return require('codex')._apply_edit(err, params, ctx)
    end or nil,
  },
  -- Client-side command, checked by Client:exec_cmd before it sends
  -- workspace/executeCommand: adds the rewrite instruction (asked with
  -- vim.ui.input) and reports the server's answer. `require` stays lazy.
  commands = {
    ['codex.runAction'] = function(command, ctx)
      require('codex')._run_action_command(command, ctx)
    end,
  },
}
