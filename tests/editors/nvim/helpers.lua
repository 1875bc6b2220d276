-- Shared helpers of the headless Neovim tests. Each test file is one
-- `nvim --headless --clean --cmd 'set rtp^=editors/nvim' -l test_x.lua`
-- process (see run.sh) with its own workspace and its own fake model server.
local H = {}

local uv = vim.uv

H.here = vim.fs.dirname(vim.fs.abspath(debug.getinfo(1, 'S').source:sub(2)))
H.repo = vim.fs.normalize(H.here .. '/../../..')
H.bin_dir = vim.env.CODEX_BIN_DIR or (H.repo .. '/target/debug')
H.timeout = tonumber(vim.env.CODEX_TEST_TIMEOUT_MS or '') or 15000

local cleanups = {}
local messages = {}

-- Everything shown to the user through vim.notify (window/showMessage uses
-- it too) is recorded so tests can assert what the user was told.
local orig_notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(messages, { msg = tostring(msg), level = level })
  if vim.env.CODEX_TEST_VERBOSE then
    orig_notify(msg, level, opts)
  end
end

---@return {msg: string, level: integer}[]
function H.messages()
  return messages
end

function H.clear_messages()
  messages = {}
end

--- First recorded message containing `needle` (plain text), if any.
function H.find_message(needle)
  for _, m in ipairs(messages) do
    if m.msg:find(needle, 1, true) then
      return m
    end
  end
end

function H.log(...)
  io.stdout:write(table.concat(vim.tbl_map(tostring, { ... }), ' ') .. '\n')
end

function H.fail(msg)
  error(msg, 2)
end

function H.ok(cond, msg)
  if not cond then
    error('assertion failed: ' .. (msg or '?'), 2)
  end
  return cond
end

function H.eq(expected, actual, msg)
  if not vim.deep_equal(expected, actual) then
    error(
      ('%s\nexpected: %s\n  actual: %s'):format(msg or 'values differ', vim.inspect(expected), vim.inspect(actual)),
      2
    )
  end
end

--- vim.wait() that fails the test on timeout, or as soon as an error is
--- shown to the user (e.g. the server answered "Method not found").
function H.wait(what, cond, timeout)
  local seen = #messages
  local err_msg
  local ok = vim.wait(timeout or H.timeout, function()
    if cond() then
      return true
    end
    for i = seen + 1, #messages do
      if messages[i].level == vim.log.levels.ERROR then
        err_msg = messages[i].msg
        return true
      end
    end
    seen = #messages
    return false
  end, 20)
  if err_msg then
    error(('error shown while waiting for %s: %s'):format(what, err_msg), 2)
  elseif not ok then
    error('timed out waiting for ' .. what, 2)
  end
end

--- A fresh project folder (git-initialised) holding `files` (path -> text).
---@param files table<string,string>
---@return string root
function H.workspace(files)
  local root = vim.fn.tempname() .. '-ws'
  vim.fn.mkdir(root, 'p')
  if vim.fn.executable('git') == 1 then
    vim.system({ 'git', 'init', '-q', root }):wait()
  else
    vim.fn.mkdir(root .. '/.git', 'p')
  end
  for path, text in pairs(files or {}) do
    local full = root .. '/' .. path
    vim.fn.mkdir(vim.fs.dirname(full), 'p')
    local f = assert(io.open(full, 'wb'))
    f:write(text)
    f:close()
  end
  return vim.fn.resolve(root)
end

--- Starts the fake Responses server with a scenario; returns its base URL.
---@param scenario table { rules = {...} }
---@return string base_url
function H.fake_responses(scenario)
  local exe = H.bin_dir .. '/fake-responses'
  if vim.fn.executable(exe) == 0 then
    H.fail('fake-responses binary missing: ' .. exe)
  end
  local script = vim.fn.tempname() .. '-scenario.json'
  vim.fn.writefile({ vim.json.encode(scenario) }, script)
  local out = ''
  local errout = ''
  local proc = vim.system({ exe, '--port', '0', '--script', script }, {
    stdout = function(_, data)
      out = out .. (data or '')
    end,
    stderr = function(_, data)
      errout = errout .. (data or '')
    end,
  })
  table.insert(cleanups, function()
    proc:kill('sigterm')
  end)
  local url
  local ok = vim.wait(10000, function()
    url = out:match('^(http://127%.0%.0%.1:%d+/v1)\r?\n')
    return url ~= nil or proc:is_closing()
  end, 20)
  if not ok or not url then
    H.fail(('fake-responses did not print its URL (stdout %q, stderr %q)'):format(out, errout))
  end
  H.fake_url = url
  return url
end

local function http(method, url)
  local res = vim
    .system({
      'python3',
      '-c',
      [[
import sys, urllib.request
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
with urllib.request.urlopen(req, timeout=10) as r:
    sys.stdout.write(r.read().decode())
]],
      method,
      url,
    }, { text = true })
    :wait(15000)
  if res.code ~= 0 then
    H.fail(('%s %s failed: %s'):format(method, url, res.stderr))
  end
  return res.stdout
end

--- Requests the fake model server has recorded (decoded JSON array).
function H.model_requests()
  local root = assert(H.fake_url, 'no fake server'):gsub('/v1$', '')
  return vim.json.decode(http('GET', root .. '/__requests'))
end

--- Raw text of every recorded request, concatenated (for substring checks).
function H.model_requests_text()
  return vim.json.encode(H.model_requests())
end

--- Opens `path` and waits for the codex client to be attached and initialised.
---@return integer bufnr, vim.lsp.Client client
function H.open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local client
  H.wait('codex-lsp to attach to ' .. path, function()
    client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codex' })[1]
    return client ~= nil and client.initialized == true
  end)
  return bufnr, client
end

function H.lines(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, true), '\n') .. '\n'
end

--- Lines of every floating window currently open.
function H.float_texts()
  local texts = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local buf = vim.api.nvim_win_get_buf(win)
      table.insert(texts, table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n'))
    end
  end
  return texts
end

--- Records LspProgress events of the codex client.
function H.record_progress()
  local events = {}
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == 'codex' then
        local value = ev.data.params.value or {}
        table.insert(events, { kind = value.kind, title = value.title, message = value.message })
      end
    end,
  })
  return events
end

--- The sample Lua file used by the edit tests, and the scripted patch.
H.sample = table.concat({
  'local function add(a, b)',
  '  return a+b',
  'end',
  '',
  'return add',
  '',
}, '\n')

H.sample_fixed = table.concat({
  'local function add(a, b)',
  '  return a + b',
  'end',
  '',
  'return add',
  '',
}, '\n')

H.sample_patch = table.concat({
  '*** Begin Patch',
  '*** Update File: lua/sample.lua',
  '@@',
  ' local function add(a, b)',
  '-  return a+b',
  '+  return a + b',
  ' end',
  '*** End Patch',
}, '\n')

local function cleanup()
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop(true)
  end
  for i = #cleanups, 1, -1 do
    pcall(cleanups[i])
  end
end

--- Runs the test body; prints PASS/FAIL and exits with 0/1.
---@param name string
---@param fn fun()
function H.run(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  cleanup()
  if ok then
    H.log('\nPASS ' .. name)
    os.exit(0)
  else
    H.log('\nFAIL ' .. name .. ': ' .. tostring(err))
    if #messages > 0 then
      H.log('messages shown to the user:')
      for _, m in ipairs(messages) do
        H.log('  [' .. tostring(m.level) .. '] ' .. m.msg)
      end
    end
    local logf = vim.lsp.log.get_filename()
    if vim.env.CODEX_TEST_VERBOSE and logf and uv.fs_stat(logf) then
      H.log(table.concat(vim.fn.readfile(logf), '\n'))
    end
    os.exit(1)
  end
end

return H
