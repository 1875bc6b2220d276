-- codex-lsp Neovim client: optional setup{} and the :Codex* commands.
--
-- All the work happens in the server. The commands are Neovim's own
-- vim.lsp.buf.code_action() filtered to one Codex kind; the one thing a
-- server cannot do itself, prompting for the rewrite instruction, happens in
-- the client-side `codex.runAction` command (see docs/protocol.md,
-- "Commands"), whether the rewrite comes from :CodexRewrite or the menu.
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

--- What the server said in `codex/status` about cost, by client id: the
--- last finished call's `usage` and the session total (docs/protocol.md).
---@type table<integer, { title?: string, message?: string, usage?: table, session?: table }>
M.usage = {}

--- Handler of the `codex/status` notification (see lsp/codex.lua).
---@param params table
---@param ctx lsp.HandlerContext
function M._status(params, ctx)
  if type(params) ~= 'table' then
    return
  end
  local entry = M.usage[ctx.client_id] or {}
  if type(params.session) == 'table' then
    entry.session = params.session
  end
  if params.state == 'idle' then
    entry.title = params.title
    entry.message = params.message
    -- The usage of this call, or none (a failed or cancelled call has none).
    entry.usage = type(params.usage) == 'table' and params.usage or nil
  end
  M.usage[ctx.client_id] = entry
end

--- Lines describing what Codex cost: the last call and the session total,
--- per running client ("Codex: Simplify (edit ready): $0.0042, 1,024 of
--- 1,200 input tokens cached, 80 output tokens").
---@return string[]
function M.usage_lines()
  local lines = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    local entry = M.usage[client.id] or {}
    local u = entry.usage
    if u and u.summary then
      local model = u.model and (' with ' .. u.model) or ''
      table.insert(lines, ('last call%s: %s (%s): %s'):format(model, entry.title or 'Codex', entry.message or 'done', u.summary))
    elseif entry.message then
      table.insert(lines, ('last call: %s (%s), no usage'):format(entry.title or 'Codex', entry.message))
    end
    if entry.session and entry.session.summary then
      table.insert(lines, 'this session: ' .. entry.session.summary)
    end
  end
  if #lines == 0 then
    lines = { 'no Codex model call yet' }
  end
  return lines
end

--- :CodexUsage: shows what the last call and the session cost.
function M.show_usage()
  notify(table.concat(M.usage_lines(), '\n'))
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

--- Runs the server's code action of `kind` with Neovim's own runner,
--- |vim.lsp.buf.code_action()| with `apply = true`: one matching action runs
--- at once (resolved, or its command executed), several are offered with
--- vim.ui.select(). The range is the command's whole lines, else the cursor.
---@param kind string
---@param cmd_opts? table opts of nvim_create_user_command callbacks
---@param opts? { diagnostics?: lsp.Diagnostic[], instruction?: string }
local function code_action(kind, cmd_opts, opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  if not get_client(bufnr) then
    return
  end
  local range
  if cmd_opts and cmd_opts.range and cmd_opts.range > 0 then
    local last = vim.api.nvim_buf_get_lines(bufnr, cmd_opts.line2 - 1, cmd_opts.line2, true)[1]
    -- Mark-like positions; code_action() makes the end exclusive (+1).
    range = { start = { cmd_opts.line1, 0 }, ['end'] = { cmd_opts.line2, #last - 1 } }
  end
  vim.lsp.buf.code_action({
    context = {
      only = { kind },
      diagnostics = opts.diagnostics or {},
      triggerKind = vim.lsp.protocol.CodeActionTriggerKind.Invoked,
    },
    range = range,
    apply = true,
    -- An instruction given to :CodexRewrite rides on the action's own
    -- codex.runAction arguments, so the command handler below (the one place
    -- that asks for it) sees it and does not ask.
    filter = function(action)
      local args = type(action.command) == 'table' and (action.command.arguments or {})[1]
      if opts.instruction and action.kind == KIND.rewrite and type(args) == 'table' then
        args.instruction = opts.instruction
      end
      return true
    end,
  })
end

--- Diagnostics of every source on the lines of the command's range (else
--- the cursor line), as LSP diagnostics.
---@param bufnr integer
---@param cmd_opts? table
---@return lsp.Diagnostic[]
local function diagnostics_in(bufnr, cmd_opts)
  local first, last
  if cmd_opts and cmd_opts.range and cmd_opts.range > 0 then
    first, last = cmd_opts.line1 - 1, cmd_opts.line2 - 1
  else
    first = vim.api.nvim_win_get_cursor(0)[1] - 1
    last = first
  end
  local found = vim.tbl_filter(function(d)
    return d.lnum <= last and (d.end_lnum or d.lnum) >= first
  end, vim.diagnostic.get(bufnr))
  return vim.lsp.diagnostic.from(found)
end

--- :CodexRewrite: rewrites the range (or the code under the cursor) following
--- `instruction`; without one, the codex.runAction handler asks for it.
---@param instruction? string
---@param cmd_opts? table
function M.rewrite(instruction, cmd_opts)
  if instruction and vim.trim(instruction) == '' then
    instruction = nil
  end
  code_action(KIND.rewrite, cmd_opts, { instruction = instruction })
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
  local diagnostics = diagnostics_in(vim.api.nvim_get_current_buf(), cmd_opts)
  if #diagnostics == 0 then
    notify('no diagnostics here to fix', vim.log.levels.WARN)
    return
  end
  code_action(KIND.fix, cmd_opts, { diagnostics = diagnostics })
end

--- :CodexRefine {instruction}: continues the buffer's last Codex edit with
--- a new instruction (the server's `codex.refine`, which applies the result);
--- without one, asks for it.
---@param instruction? string
function M.refine(instruction)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = get_client(bufnr)
  if not client then
    return
  end
  local function send(text)
    client:request('workspace/executeCommand', {
      command = 'codex.refine',
      arguments = { { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, instruction = text } },
    }, function(err)
      if err then
        notify(err.message, vim.log.levels.ERROR)
      end
    end, bufnr)
  end
  if instruction and vim.trim(instruction) ~= '' then
    send(vim.trim(instruction))
    return
  end
  vim.ui.input({ prompt = 'Codex refine: ' }, function(input)
    if input and vim.trim(input) ~= '' then
      send(vim.trim(input))
    end
  end)
end

--- Client side of `codex.runAction` (|vim.lsp.ClientConfig| `commands`, run by
--- Client:exec_cmd for every action that carries the command): a `rewrite`
--- without instruction asks for it here, the only place; then the command
--- goes to the server, which applies the edit with workspace/applyEdit.
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
        cmd.arguments[1].instruction = vim.trim(input)
        send(cmd)
      end
    end)
  else
    send(command)
  end
end

-- Review before apply (Neovim 0.11; see lsp/codex.lua and |codex-review|).

--- The annotation of an edit the server wants reviewed, if any.
---@param edit lsp.WorkspaceEdit
---@return lsp.ChangeAnnotation?
local function review_annotation(edit)
  for _, annotation in pairs(edit.changeAnnotations or {}) do
    if annotation.needsConfirmation then
      return annotation
    end
  end
end

--- The loaded buffer of a file, if any (by exact name: |bufnr()| would take
--- the name as a pattern).
---@param fname string
---@return integer?
local function loaded_buffer(fname)
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.api.nvim_buf_get_name(bufnr) == fname then
      return bufnr
    end
  end
end

--- The lines of a file as the editor holds them: its buffer when loaded,
--- else the file on disk, else nothing.
---@param fname string
---@return string[]
local function current_lines(fname)
  local bufnr = loaded_buffer(fname)
  if bufnr then
    return vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  end
  local ok, lines = pcall(vim.fn.readfile, fname)
  return ok and lines or {}
end

--- A unified diff of what `edit` does, file by file.
---@param edit lsp.WorkspaceEdit
---@param encoding string the client's offset encoding
---@return string[]
function M._diff(edit, encoding)
  local created = {}
  local out = {}
  local diff = vim.text and vim.text.diff or vim.diff
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.kind == 'create' then
      created[change.uri] = true
    elseif change.textDocument then
      local uri = change.textDocument.uri
      local fname = vim.uri_to_fname(uri)
      local before = created[uri] and {} or current_lines(fname)
      local scratch = vim.api.nvim_create_buf(false, true)
      vim.api.nvim_buf_set_lines(scratch, 0, -1, false, before)
      vim.lsp.util.apply_text_edits(change.edits, scratch, encoding)
      local after = vim.api.nvim_buf_get_lines(scratch, 0, -1, false)
      vim.api.nvim_buf_delete(scratch, { force = true })
      local name = vim.fn.fnamemodify(fname, ':~:.')
      local joined = function(lines)
        return #lines == 0 and '' or table.concat(lines, '\n') .. '\n'
      end
      local hunks = diff(joined(before), joined(after), { ctxlen = 3 }) --[[@as string]]
      table.insert(out, (created[uri] and '--- /dev/null' or ('--- a/' .. name)))
      table.insert(out, '+++ b/' .. name)
      vim.list_extend(out, vim.split(hunks, '\n', { trimempty = true }))
    end
  end
  return out
end

--- Shows `edit` as a diff in a floating window; calls `decide(true)` when
--- the user accepts it (`a`, <CR>), `decide(false)` when they reject it
--- (`r`, `q`, <Esc>, or closing the window). Returns the window.
---@param edit lsp.WorkspaceEdit
---@param annotation lsp.ChangeAnnotation
---@param encoding string
---@param decide fun(accepted: boolean)
---@return integer win
function M._review(edit, annotation, encoding, decide)
  local lines = M._diff(edit, encoding)
  if annotation.description and annotation.description ~= '' then
    table.insert(lines, 1, annotation.description)
    table.insert(lines, 2, '')
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].filetype = 'diff'
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.b[buf].codex_review = true
  local width = 20
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width, math.max(20, vim.o.columns - 4))
  local height = math.min(#lines, math.max(1, vim.o.lines - 6))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    row = math.floor((vim.o.lines - height) / 2) - 1,
    col = math.floor((vim.o.columns - width) / 2),
    width = width,
    height = height,
    style = 'minimal',
    border = 'rounded',
    title = ' ' .. annotation.label .. ' ',
    footer = ' a: apply   r: reject ',
    footer_pos = 'center',
  })
  local done = false
  local function finish(accepted)
    if done then
      return
    end
    done = true
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, true)
    end
    vim.schedule(function()
      decide(accepted)
    end)
  end
  for _, key in ipairs({ 'a', '<CR>' }) do
    vim.keymap.set('n', key, function()
      finish(true)
    end, { buffer = buf, nowait = true, desc = 'Codex: apply the edit' })
  end
  for _, key in ipairs({ 'r', 'q', '<Esc>' }) do
    vim.keymap.set('n', key, function()
      finish(false)
    end, { buffer = buf, nowait = true, desc = 'Codex: reject the edit' })
  end
  vim.api.nvim_create_autocmd('WinClosed', {
    pattern = tostring(win),
    once = true,
    callback = function()
      finish(false)
    end,
  })
  return win
end

--- The first document of `edit` that changed since the server made the
--- edit (its buffer is at a newer version), if any.
---@param edit lsp.WorkspaceEdit
---@return string? uri
local function changed_document(edit)
  for _, change in ipairs(edit.documentChanges or {}) do
    local doc = change.textDocument
    if doc and type(doc.version) == 'number' then
      local bufnr = loaded_buffer(vim.uri_to_fname(doc.uri))
      if bufnr and (vim.lsp.util.buf_versions[bufnr] or 0) > doc.version then
        return doc.uri
      end
    end
  end
end

--- The codex client's `workspace/applyEdit` handler on Neovim 0.11: an
--- edit the server wants reviewed waits for the user's answer in the diff
--- window (the handler runs in a coroutine, so it can wait without
--- blocking the editor; a rejection answers `applied = false`, and the
--- server says so); any other edit goes to Neovim's own handler.
---@param err lsp.ResponseError?
---@param params lsp.ApplyWorkspaceEditParams
---@param ctx lsp.HandlerContext
function M._apply_edit(err, params, ctx)
  local apply = vim.lsp.handlers['workspace/applyEdit']
  local annotation = review_annotation(params.edit or {})
  local co, is_main = coroutine.running()
  if not annotation then
    return apply(err, params, ctx)
  end
  if not co or is_main then
    -- Not in a coroutine (never so on 0.11): ask, blocking.
    local choice = vim.fn.confirm(annotation.label .. ': apply this edit?', '&Apply\n&Reject', 2)
    return choice == 1 and apply(err, params, ctx) or { applied = false }
  end
  local client = assert(vim.lsp.get_client_by_id(ctx.client_id))
  M._review(params.edit, annotation, client.offset_encoding, function(accepted)
    coroutine.resume(co, accepted)
  end)
  if not coroutine.yield() then
    return { applied = false }
  end
  -- Edited during the review: the edit no longer fits; nothing is applied.
  local changed = changed_document(params.edit)
  if changed then
    local name = vim.fn.fnamemodify(vim.uri_to_fname(changed), ':~:.')
    return { applied = false, failureReason = name .. ' changed during the review' }
  end
  return apply(err, params, ctx)
end

return M
