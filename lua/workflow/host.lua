-- The Python side: the one module that talks to it.
--
-- On first use it starts `python -m workflow_nvim serve`, a child of this
-- Neovim speaking msgpack-RPC over its stdin and stdout (jobstart's rpc mode),
-- and calls it with vim.rpcrequest. What the server sends later (a background
-- commit's outcome, annotation progress) arrives in M.receive on that channel
-- alone, and is handed to the handler a module above registered with M.on:
-- the only way up. The contract is rplugin/python3/workflow_nvim/protocol.py
-- (:help workflow-protocol).
--
-- The interpreter, first that has the required packages: vim.g.workflow.python,
-- the plugin's own environment (~/.local/share/workflow.nvim/venv, made by
-- :WorkflowInstall, or M.own_python in a package build), then the one made
-- before the plugin had its own places (stdpath('data')/workflow/venv), if it
-- is there, g:python3_host_prog, python3 on PATH. The choice is cached in
-- ~/.cache/workflow.nvim (places.lua), so a cold start probes nothing;
-- M.forget drops it.
local M = {}

local config = require('workflow.config')
local message = require('workflow.message')
local places = require('workflow.places')

--- Must equal PROTOCOL in protocol.py (a test checks).
M.PROTOCOL = 4

M.package_dir = config.root .. '/rplugin/python3'

--- A Python that has the dependencies, set by a package build (flake.nix): then it is the plugin's
--- own environment, in place of the one :WorkflowInstall makes.
---@type string?
M.own_python = nil

---@class workflow.Server
---@field chan integer
---@field job integer
---@field python string
---@field pid integer
---@field stderr string[] the last lines it wrote before its log was set up

local server = nil ---@type workflow.Server?
local died = nil ---@type string? why the last server stopped, said at the next command
local handlers = {} ---@type table<string, fun(msg: workflow.Push|workflow.AnnotationProgress|workflow.CheckedStep)>
local passed_over = {} ---@type { python: string, why: string }[]

--- Register the handler of pushed messages of `kind` ('commit', or one of WRAPPED below),
--- or of the server's end ('stopped': called with why, e.g. "killed by signal 9").
---@param kind string
---@param fn fun(msg: workflow.Push|workflow.AnnotationProgress|workflow.Diagnostics|workflow.CheckedStep|string)
function M.on(kind, fn)
  handlers[kind] = fn
end

local stopped = {} ---@type fun(why: string)[]

--- Also call `fn` with why when the server stops (as M.on('stopped') does, for more than one module).
---@param fn fun(why: string)
function M.on_stopped(fn)
  table.insert(stopped, fn)
end

-- The kinds of push that carry their message under their own key; any other push is a commit's.
local WRAPPED = { 'annotation', 'diagnostics', 'output', 'checked' }

--- Called by the server (nvim_exec_lua on its own channel) with a protocol.Push.
---@param msg workflow.Push
function M.receive(msg)
  for _, kind in ipairs(WRAPPED) do
    if msg[kind] then
      local fn = handlers[kind]
      return fn and fn(msg[kind])
    end
  end
  local fn = handlers.commit
  if fn then
    fn(msg)
  end
end

local function cache_file()
  return places.get().python_cache
end

-- What identifies an interpreter's file: a changed one is probed again.
local function stamp(python)
  local real = vim.uv.fs_realpath(python)
  local st = real and vim.uv.fs_stat(real)
  return st and ('%s:%d:%d'):format(real, st.mtime.sec, st.size) or nil
end

--- The interpreters to try, in order: { {python, why-this-one}, ... }.
---@param cfg workflow.Options
---@return { [1]: string, [2]: string }[]
function M.candidates(cfg)
  local list = {}
  local function add(prog, origin)
    if type(prog) == 'string' and prog ~= '' then
      list[#list + 1] = { vim.fn.expand(prog), origin }
    end
  end
  if cfg.python then
    -- Named by the person: that one or a clear no, never another one behind their back.
    add(cfg.python, 'vim.g.workflow.python')
    return list
  end
  add(M.own_python or (M.venv() .. '/bin/python'), "the plugin's own environment")
  local old = places.legacy().venv .. '/bin/python'
  if not M.own_python and vim.fn.executable(old) == 1 then
    -- made by :WorkflowInstall before the plugin had its own places: it keeps working
    add(old, "the plugin's older environment")
  end
  add(vim.g.python3_host_prog, 'g:python3_host_prog')
  add(vim.fn.exepath('python3'), 'python3 on PATH')
  return list
end

--- The plugin's own environment, made by :WorkflowInstall.
function M.venv()
  return places.get().venv
end

--- The log of the server: where it writes warnings and the traceback of each bug.
function M.log_file()
  return places.get().log
end

-- The cache is shared with Vim: { neovim = choice, vim = choice }, a choice being
-- { candidates, python, origin, stamp } (autoload/workflow/host.vim). Each editor keeps its own,
-- since their candidates differ (g:python3_host_prog is Neovim's), and leaves the other's alone.
local EDITOR = 'neovim'

local function read_cache_file()
  local f = io.open(cache_file(), 'r')
  if not f then
    return {}
  end
  local ok, data = pcall(vim.json.decode, f:read('*a'))
  f:close()
  return ok and type(data) == 'table' and data or {}
end

-- This editor's choice, or nil.
local function read_cache()
  local entry = read_cache_file()[EDITOR]
  return type(entry) == 'table' and entry or nil
end

-- Set this editor's choice (nil: forget it), keeping the other editor's.
local function write_cache(entry)
  local data = {}
  for editor, choice in pairs(read_cache_file()) do
    if type(choice) == 'table' then -- an older, flat format is dropped
      data[editor] = choice
    end
  end
  if data[EDITOR] == nil and entry == nil then
    return
  end
  data[EDITOR] = entry
  vim.fn.mkdir(vim.fs.dirname(cache_file()), 'p')
  local tmp = ('%s.tmp.%d'):format(cache_file(), vim.fn.getpid())
  local f = io.open(tmp, 'w')
  if f then
    f:write(vim.json.encode(next(data) and data or vim.empty_dict()))
    f:close()
    vim.uv.fs_rename(tmp, cache_file())
  end
end

--- $PYTHONPATH for every `python -m workflow_nvim ...`: this plugin's package first.
function M.pythonpath()
  local pythonpath = M.package_dir
  if vim.env.PYTHONPATH and vim.env.PYTHONPATH ~= '' then
    pythonpath = pythonpath .. ':' .. vim.env.PYTHONPATH
  end
  return pythonpath
end

-- Start one server with `python`; returns the server, or nil and why not.
local function spawn(python)
  if vim.fn.executable(python) == 0 then
    return nil, 'not an executable file'
  end
  local s = { python = python, stderr = {} }
  local ok, job = pcall(vim.fn.jobstart, { python, '-m', 'workflow_nvim', 'serve', '--log', M.log_file() }, {
    rpc = true,
    env = { PYTHONPATH = M.pythonpath() },
    on_stderr = function(_, data)
      for _, line in ipairs(data) do
        if line ~= '' then
          table.insert(s.stderr, line)
          if #s.stderr > 20 then
            table.remove(s.stderr, 1)
          end
        end
      end
    end,
    on_exit = function(_, code, _)
      if server == s then
        server = nil
        died = code >= 128 and ('killed by signal %d'):format(code - 128) or ('exit code %d'):format(code)
        local why, fns = died, vim.list_extend({ handlers.stopped }, stopped)
        vim.schedule(function() -- no answer will come to what it was doing: the fronts stop waiting
          for _, fn in ipairs(fns) do
            fn(why)
          end
        end)
      end
    end,
  })
  if not ok or job <= 0 then
    return nil, ok and 'could not be started' or message.error_text(job)
  end
  s.chan, s.job = job, job
  server = s
  local hello_ok, welcome = pcall(vim.rpcrequest, job, 'hello', {
    protocol = M.PROTOCOL,
    front = 'neovim',
    version = tostring(vim.version()),
  })
  if not hello_ok or type(welcome) ~= 'table' then
    server = nil
    -- It said why on stderr before exiting (no msgpack, a broken install): wait for its last words.
    if vim.fn.jobwait({ job }, 2000)[1] == -1 then
      pcall(vim.fn.jobstop, job)
    end
    vim.wait(500, function()
      return #s.stderr > 0
    end)
    local why = s.stderr[#s.stderr] or message.error_text(welcome)
    return nil, why
  end
  s.pid = welcome.pid
  if welcome.error then
    return s, nil, welcome.error
  end
  if welcome.problem then
    server = nil
    pcall(vim.fn.jobstop, job)
    return nil, welcome.problem
  end
  return s
end

--- The running server, starting one if needed; nil and a one-line message on failure.
---@param cfg workflow.Options
---@return workflow.Server?, string?
function M.ensure(cfg)
  if server then
    return server
  end
  local candidates = M.candidates(cfg)
  local keys = vim.tbl_map(function(c)
    return c[1]
  end, candidates)
  local cached = read_cache()
  if cached and vim.deep_equal(cached.candidates, keys) and cached.stamp == stamp(cached.python) then
    local s, _, refused = spawn(cached.python)
    if s then
      return s, refused
    end
  end
  passed_over = {}
  for _, c in ipairs(candidates) do
    local s, why, refused = spawn(c[1])
    if s then
      write_cache({ candidates = keys, python = c[1], origin = c[2], stamp = stamp(c[1]) })
      return s, refused
    end
    passed_over[#passed_over + 1] = { python = c[1], origin = c[2], why = why }
  end
  if #passed_over == 1 then
    return nil, ('%s (%s): %s'):format(passed_over[1].python, passed_over[1].origin, passed_over[1].why)
  end
  if #passed_over == 0 then
    return nil, 'no python3 on PATH: install Python 3.9 or newer, then run :WorkflowInstall'
  end
  -- One line a new user can act on; :checkhealth workflow says what each Python lacks.
  return nil, 'no Python with the needed packages: run :WorkflowInstall'
end

--- The interpreters passed over at the last start, and why (for :checkhealth).
function M.passed_over()
  return passed_over
end

--- The running server, if any (for :checkhealth and tests): { python, pid, chan }.
function M.running()
  return server
end

--- The choice cached at the last start, if any (for :checkhealth): { python, origin }.
---@return { python: string, origin: string }?
function M.cached()
  local data = read_cache()
  return data and type(data.python) == 'string' and { python = data.python, origin = data.origin or '?' } or nil
end

--- Choose again at the next command (after :WorkflowInstall): forget the cached
--- interpreter and stop the server. A commit in flight is made again at the next start.
function M.forget()
  write_cache(nil)
  passed_over = {}
  M.stop()
end

--- Stop the server (tests, :checkhealth): the next call starts a new one.
function M.stop()
  if server then
    local job = server.job
    server = nil
    pcall(vim.fn.jobstop, job)
  end
end

-- A request to the server; nil and a one-line message when it cannot answer.
local function request(cfg, method, ...)
  local s, err = M.ensure(cfg)
  if not s then
    return nil, err
  end
  if err then -- another protocol version
    return nil, err
  end
  local ok, res = pcall(vim.rpcrequest, s.chan, method, ...)
  if ok then
    return res
  end
  if server ~= s or not pcall(vim.fn.jobpid, s.job) then
    -- It died under this request: what it did is unknown, so the request is not sent again.
    server = nil
    died = nil
    return nil,
      (
        'the Python server stopped while running this command; your saved text is safe on disk: run it again'
        .. ' (the log: %s)'
      ):format(M.log_file())
  end
  return nil, 'internal error talking to the Python server: ' .. message.error_text(res)
end

--- Call command `command` of the server with `params`: its response ({ error = msg } on failure).
---@param command string
---@param params table
---@param cfg workflow.Options?
---@return workflow.Response
function M.call(command, params, cfg)
  local ok, c = pcall(config.options)
  cfg = cfg or (ok and c or {})
  local restarted = died
  local res, err = request(cfg, 'command', command, params)
  if not res then
    return { error = err }
  end
  if res.restart then
    M.stop() -- stuck: the next command starts a new server, which reopens the run from git
  end
  if restarted and server then
    died = nil
    local news = ('the Python server had stopped (%s); a new one took over (the log: %s)'):format(
      restarted,
      M.log_file()
    )
    if res.page then -- a page is read at leisure: news is a message
      res.warning = res.warning and (news .. '; ' .. res.warning) or news
    else
      res.info = res.info or {}
      table.insert(res.info, 1, news)
    end
  end
  return res
end

--- The parameters every request carries: the options, where to look, and the run and buffer the
--- person is in.
---@param cfg workflow.Options the options as the person set them (workflow.config.options())
---@return table params protocol.py's Params
function M.params(cfg)
  local current = require('workflow.state').peek()
  local step_buf = vim.b.workflow_step and vim.api.nvim_get_current_buf() or nil
  return {
    options = cfg, -- Python applies the defaults
    cwd = vim.fn.getcwd(), -- the server finds the plugin's places itself (places.py)
    buffer_step = vim.b.workflow_step,
    -- in a step buffer: which one, and its text's version (a step's failed checks are drawn there)
    buf = step_buf,
    tick = step_buf and vim.api.nvim_buf_get_changedtick(step_buf) or nil,
    -- lets a restarted server pick the run up again, and lock it for this Neovim
    run_dir = current and current.dir or nil,
    editor_pid = vim.fn.getpid(),
  }
end

--- Ask the Python side to run command `sub`: `args` are the command's
--- arguments, `extra` more parameters.
---@param sub string
---@param args string[]
---@param cfg workflow.Options the options (workflow.config.options())
---@param extra table?
---@return workflow.Response
function M.command(sub, args, cfg, extra)
  local params = vim.tbl_extend('force', M.params(cfg), { args = args }, extra or {})
  return M.call(sub, params, cfg)
end

--- Completion candidates of `kind` for `arglead` (starts the server if needed; {} on failure).
---@param kind string
---@param arglead string
---@param cfg workflow.Options
---@param extra table? more parameters (args = { subcommand })
---@return string[]
function M.complete(kind, arglead, cfg, extra)
  local res = request(cfg, 'complete', kind, arglead, vim.tbl_extend('force', M.params(cfg), extra or {}))
  return type(res) == 'table' and res or {}
end

return M
