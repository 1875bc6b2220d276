-- codex-lsp Neovim client: optional setup{} and the :Codex* commands.
--
-- All the work happens in the server. This module only asks the server for
-- its standard code actions (textDocument/codeAction), resolves or executes
-- them the standard way, and adds the one thing a server cannot do itself:
-- prompting for the rewrite instruction (see docs/protocol.md, "Commands").
-- Progress is the server's $/progress, shown by Neovim's built-in LSP
-- progress support (|LspProgress|, |vim.lsp.status()|).

local M = {}

M.name = 'codex'

local KIND = {
  rewrite = 'refactor.rewrite.codex.rewrite',
  explain = 'refactor.codex.explain',
  fix = 'quickfix.codex',
}

---@param msg string
---@param level? integer
local function notify(msg, level)
  if not msg:match('^Codex') then
    msg = 'Codex: ' .. msg
  end
  vim.notify(msg, level or vim.log.levels.INFO, { title = 'Codex' })
end

--- Options of |codex.setup()|.
---@class codex.Opts
---@field settings? table Server settings (camelCase, see `codex-lsp --print-default-settings`).
---@field cmd? string[] Command starting the server (default `{ 'codex-lsp' }`).
---@field filetypes? string[] Filetypes to attach to (default: every file).
---@field root_markers? string[] Files or folders marking the workspace root.
---@field cmd_env? table<string,string> Extra environment of the server process.
---@field enable? boolean Call vim.lsp.enable('codex') (default true).

--- Merges options into `vim.lsp.config('codex')` and enables the server.
--- Running clients get the new settings at once.
---@param opts? codex.Opts
function M.setup(opts)
  opts = opts or {}
  local cfg = {}
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers', 'cmd_env' }) do
    if opts[key] ~= nil then
      cfg[key] = opts[key]
    end
  end
  if opts.settings then
    cfg.settings = { codex = opts.settings }
  end
  vim.lsp.config(M.name, cfg)
  if opts.settings then
    local settings = vim.lsp.config[M.name].settings
    for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
      client.settings = vim.deepcopy(settings)
      client:notify('workspace/didChangeConfiguration', { settings = client.settings })
    end
  end
  if opts.enable ~= false then
    vim.lsp.enable(M.name)
  end
end

---@param bufnr integer
---@return vim.lsp.Client?
local function get_client(bufnr)
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
  if not client then
    notify('codex-lsp is not attached to this buffer (see :checkhealth codex)', vim.log.levels.WARN)
  end
  return client
end

--- The LSP range of a user command: whole lines when it was given a range,
--- else the cursor position.
---@param bufnr integer
---@param cmd_opts? table opts of nvim_create_user_command callbacks
---@param encoding string
---@return lsp.Range
local function command_range(bufnr, cmd_opts, encoding)
  if cmd_opts and cmd_opts.range and cmd_opts.range > 0 then
    local last = vim.api.nvim_buf_get_lines(bufnr, cmd_opts.line2 - 1, cmd_opts.line2, true)[1]
    return {
      start = { line = cmd_opts.line1 - 1, character = 0 },
      ['end'] = { line = cmd_opts.line2 - 1, character = vim.str_utfindex(last, encoding) },
    }
  end
  return vim.lsp.util.make_range_params(0, encoding).range
end

--- Applies a code action the way vim.lsp.buf.code_action() does: edit first,
--- then the command; `extra` is merged into the command's argument object.
---@param client vim.lsp.Client
---@param action lsp.CodeAction|lsp.Command
---@param bufnr integer
---@param extra? table
local function apply_action(client, action, bufnr, extra)
  if action.edit then
    vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  end
  local command = action.command
  if type(command) == 'string' then
    command = action --[[@as lsp.Command]]
  end
  if type(command) == 'table' then
    command = vim.deepcopy(command)
    if extra and command.arguments and type(command.arguments[1]) == 'table' then
      command.arguments[1] = vim.tbl_extend('force', command.arguments[1], extra)
    end
    client:exec_cmd(command, { bufnr = bufnr })
  end
end

---@param client vim.lsp.Client
---@param action lsp.CodeAction|lsp.Command
---@param bufnr integer
---@param extra? table
local function run_action(client, action, bufnr, extra)
  if
    not action.edit
    and action.command == nil
    and client:supports_method('codeAction/resolve', bufnr)
  then
    client:request('codeAction/resolve', action, function(err, resolved)
      if err then
        notify(err.message, vim.log.levels.ERROR)
      elseif resolved then
        apply_action(client, resolved, bufnr, extra)
      end
    end, bufnr)
  else
    apply_action(client, action, bufnr, extra)
  end
end

--- Asks the server for its code actions of one kind on a range and runs the
--- one found (or lets the user pick when there are several).
---@param kind string
---@param cmd_opts? table
---@param extra? table merged into the command argument (rewrite instruction)
---@param diagnostics? fun(bufnr: integer, range: lsp.Range): lsp.Diagnostic[]
local function code_action(kind, cmd_opts, extra, diagnostics)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = get_client(bufnr)
  if not client then
    return
  end
  local range = command_range(bufnr, cmd_opts, client.offset_encoding)
  local diags = diagnostics and diagnostics(bufnr, range) or {}
  if diagnostics and #diags == 0 then
    notify('no diagnostics here to fix', vim.log.levels.WARN)
    return
  end
  ---@type lsp.CodeActionParams
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = range,
    context = {
      only = { kind },
      diagnostics = diags,
      triggerKind = vim.lsp.protocol.CodeActionTriggerKind.Invoked,
    },
  }
  client:request('textDocument/codeAction', params, function(err, result)
    if err then
      notify(err.message, vim.log.levels.ERROR)
      return
    end
    local actions = vim.tbl_filter(function(a)
      return a.kind == kind or vim.startswith(a.kind or '', kind .. '.')
    end, result or {})
    if #actions == 0 then
      notify('the server offered no action here', vim.log.levels.WARN)
    elseif #actions == 1 then
      run_action(client, actions[1], bufnr, extra)
    else
      vim.ui.select(actions, {
        prompt = 'Codex:',
        format_item = function(a)
          return a.title
        end,
      }, function(choice)
        if choice then
          run_action(client, choice, bufnr, extra)
        end
      end)
    end
  end, bufnr)
end

--- Diagnostics of every source on the lines of `range`, as LSP diagnostics.
---@param bufnr integer
---@param range lsp.Range
---@return lsp.Diagnostic[]
local function diagnostics_in(bufnr, range)
  local found = vim.tbl_filter(function(d)
    return d.lnum <= range['end'].line and (d.end_lnum or d.lnum) >= range.start.line
  end, vim.diagnostic.get(bufnr))
  return vim.lsp.diagnostic.from(found)
end

--- :CodexRewrite: rewrites the range (or the code under the cursor) following
--- `instruction`, asked with vim.ui.input() when nil.
---@param instruction? string
---@param cmd_opts? table
function M.rewrite(instruction, cmd_opts)
  if instruction and instruction ~= '' then
    code_action(KIND.rewrite, cmd_opts, { instruction = instruction })
    return
  end
  vim.ui.input({ prompt = 'Codex rewrite: ' }, function(input)
    if input and vim.trim(input) ~= '' then
      code_action(KIND.rewrite, cmd_opts, { instruction = input })
    end
  end)
end

--- :CodexExplain: explains the range (or the code under the cursor); the
--- server shows the Markdown with window/showDocument (a split window).
---@param cmd_opts? table
function M.explain(cmd_opts)
  code_action(KIND.explain, cmd_opts)
end

--- :CodexFix: fixes the diagnostics on the line (or the range's lines).
---@param cmd_opts? table
function M.fix(cmd_opts)
  code_action(KIND.fix, cmd_opts, nil, diagnostics_in)
end

--- Client side of `codex.runAction` (|vim.lsp.ClientConfig| `commands`): adds
--- the instruction a `rewrite` needs, then sends the command to the server,
--- which applies the edit with workspace/applyEdit.
---@param command lsp.Command
---@param ctx table
function M._run_action_command(command, ctx)
  local client = assert(vim.lsp.get_client_by_id(ctx.client_id))
  local args = (command.arguments or {})[1]
  local function send(cmd)
    -- The server applies the edit itself (workspace/applyEdit) and shows
    -- why when it could not ({ applied = false }): only errors are ours.
    client:request('workspace/executeCommand', {
      command = cmd.command,
      arguments = cmd.arguments,
    }, function(err)
      if err then
        notify(err.message, vim.log.levels.ERROR)
      end
    end, ctx.bufnr)
  end
  if type(args) == 'table' and args.action == 'rewrite' and not args.instruction then
    vim.ui.input({ prompt = 'Codex rewrite: ' }, function(input)
      if input and vim.trim(input) ~= '' then
        local cmd = vim.deepcopy(command)
        cmd.arguments[1].instruction = input
        send(cmd)
      end
    end)
  else
    send(command)
  end
end

return M
