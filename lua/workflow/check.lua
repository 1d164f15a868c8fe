-- Live diagnostics for people writing workflow files: the problems Python finds
-- in a buffer's text (errors and warnings, located), shown as vim.diagnostic in
-- the namespace 'workflow_check'. A buffer is live when it is a workflow file in
-- a search directory (decided here, without starting Python: opening any other
-- YAML costs nothing), or once the person ran :WorkflowCheck in it. Its text is
-- checked on open, on save and after a pause in typing, one request in flight at
-- a time; the server answers at once and pushes the diagnostics from a thread
-- (protocol.Diagnostics), which arrive through host.on('diagnostics').
local M = {}

local api = vim.api
local config = require('workflow.config')
local places = require('workflow.places')
-- Loaded once a buffer is live (with vim.diagnostic): opening any other YAML file costs little.
local host ---@module 'workflow.host'
local message ---@module 'workflow.message'

M.ns = api.nvim_create_namespace('workflow_check')
local group = api.nvim_create_augroup('workflow_check_live', { clear = true })

--- How long typing must pause before the text is checked again.
M.DEBOUNCE_MS = 400
-- A request whose push never came (the server died or was busy) stops holding the next one back.
local FLIGHT_MS = 5000

local SEVERITY ---@type table<string, vim.diagnostic.Severity>

-- What a live buffer needs, loaded with the first one.
local function load()
  if SEVERITY then
    return
  end
  host, message = require('workflow.host'), require('workflow.message')
  SEVERITY = { error = vim.diagnostic.severity.ERROR, warning = vim.diagnostic.severity.WARN }
  -- The problems are the point while writing: their text at the end of the line, as in Vim (a person
  -- can change this with vim.diagnostic.config({...}, require('workflow.check').ns)).
  vim.diagnostic.config({ virtual_text = { spacing = 2 }, severity_sort = true }, M.ns)
  host.on('diagnostics', M.update)
end

---@class workflow.CheckState
---@field timer uv.uv_timer_t? the pause in typing being waited for
---@field flight integer? b:changedtick of the request whose push has not come yet
---@field flight_at number when it was sent (vim.uv.now())
---@field again boolean the text changed while a request was in flight
---@field shown integer the tick of the diagnostics shown (-1: none)
---@field failed boolean? the last check could not be made: typing does not try again, saving does

---@type table<integer, workflow.CheckState>
local live = {}
local said = {} ---@type table<string, true> errors of live checks, said once each

-- A directory as it is compared: absolute, normalised, and resolved when it exists.
local function dir_key(dir)
  dir = vim.fs.normalize(dir)
  return vim.uv.fs_realpath(dir) or dir
end

-- An option's path as Python expands it (options.expand): ~, $VAR, relative to the working directory.
local function expand(path)
  path = vim.fs.normalize(path)
  if path:sub(1, 1) ~= '/' then
    path = vim.fs.normalize(vim.fn.getcwd() .. '/' .. path)
  end
  return path
end

--- Whether `path` is a workflow file in a search directory (catalog.default_dirs' rule, without the
--- bundled ones): a *.yaml or *.yml in a directory named .workflows, in the person's own workflows
--- directory (and Neovim's older one), or in one of vim.g.workflow.paths. Starts no Python.
---@param path string
---@param cfg workflow.Options? the options (default: vim.g.workflow)
---@return boolean
function M.qualifies(path, cfg)
  if not (path:match('%.yaml$') or path:match('%.yml$')) or path:find('^%a[%w+.-]*://') then
    return false
  end
  local dir = vim.fs.dirname(vim.fs.normalize(vim.fn.fnamemodify(path, ':p')))
  local real = dir_key(dir)
  if vim.fs.basename(dir) == '.workflows' or vim.fs.basename(real) == '.workflows' then
    return true
  end
  local dirs = { places.get().workflows, places.legacy().workflows }
  local paths = type(cfg) == 'table' and cfg.paths or (type(vim.g.workflow) == 'table' and vim.g.workflow.paths)
  for _, p in ipairs(type(paths) == 'table' and paths or {}) do
    if type(p) == 'string' and p ~= '' then
      dirs[#dirs + 1] = expand(p)
    end
  end
  for _, d in ipairs(dirs) do
    if dir_key(d) == real then
      return true
    end
  end
  return false
end

-- vim.g.workflow.check_live, false only when the person said so.
local function live_wanted(cfg)
  return cfg.check_live ~= false
end

-- Draw `d` (protocol.Diagnostics) in its buffer, unless older than what is shown.
local function draw(d)
  local buf = d.buf
  if type(buf) ~= 'number' or not api.nvim_buf_is_valid(buf) or not api.nvim_buf_is_loaded(buf) then
    return false
  end
  local st = live[buf]
  local tick = tonumber(d.tick) or 0
  if st then
    if st.flight and tick >= st.flight then
      st.flight = nil
    end
    if tick < st.shown then
      return false -- an older text's problems: newer ones are shown
    end
    st.shown = tick
  end
  local count = api.nvim_buf_line_count(buf)
  local list = {}
  for _, item in ipairs(d.items or {}) do
    -- Lines and columns are 1-based, columns byte indexes, the end exclusive (protocol.Diagnostic).
    local lnum = math.min(math.max((tonumber(item.line) or 1) - 1, 0), count - 1)
    local text = api.nvim_buf_get_lines(buf, lnum, lnum + 1, false)[1] or ''
    local end_lnum = math.min(math.max((tonumber(item.end_line) or (lnum + 1)) - 1, lnum), count - 1)
    local end_text = end_lnum == lnum and text or (api.nvim_buf_get_lines(buf, end_lnum, end_lnum + 1, false)[1] or '')
    local col = math.min(math.max((tonumber(item.col) or 1) - 1, 0), #text)
    local end_col = item.end_col and math.min(math.max(tonumber(item.end_col) - 1, 0), #end_text) or #end_text
    if end_lnum == lnum and end_col <= col then
      end_col = math.max(#text, col) -- an empty range: to the end of the line
    end
    list[#list + 1] = {
      lnum = lnum,
      col = col,
      end_lnum = end_lnum,
      end_col = end_col,
      severity = SEVERITY[item.severity] or vim.diagnostic.severity.ERROR,
      message = tostring(item.message or ''),
      source = 'workflow',
    }
  end
  vim.diagnostic.set(M.ns, buf, list)
  vim.b[buf].workflow_check = { tick = tick, summary = d.summary, count = #list }
  return true
end

-- The parameters of a check of `buf`'s text.
local function params(buf, live_request)
  local name = api.nvim_buf_get_name(buf)
  return {
    buf = buf,
    lines = api.nvim_buf_get_lines(buf, 0, -1, false),
    path = name ~= '' and vim.fn.fnamemodify(name, ':p') or '',
    tick = api.nvim_buf_get_changedtick(buf),
    live = live_request or nil,
  }
end

--- Check `buf`'s text now, in the background (its diagnostics come as a push). One request is in
--- flight per buffer: a change made meanwhile is checked when its push has come.
---@param buf integer
function M.refresh(buf)
  local st = live[buf]
  if not st or not api.nvim_buf_is_loaded(buf) then
    return
  end
  if st.flight and vim.uv.now() - st.flight_at < FLIGHT_MS then
    st.again = true
    return
  end
  local ok, cfg = pcall(config.options)
  if not ok then
    return -- said at the person's next command
  end
  local p = params(buf, true)
  st.flight, st.flight_at, st.again = p.tick, vim.uv.now(), false
  local response = host.command('check', {}, cfg, p)
  if response.error then
    -- No Python to ask, or it refused: not again at every pause in typing, only at the next save.
    st.flight, st.failed = nil, true
    if not said[response.error] then
      said[response.error] = true
      message.say('live check: ' .. response.error, vim.log.levels.WARN)
    end
    return
  end
  -- A live check says nothing; anything here is news (a server that was replaced).
  for _, line in ipairs(response.info or {}) do
    message.say(type(line) == 'table' and line[1] or line)
  end
end

local function stop_timer(st)
  if st.timer then
    st.timer:stop()
    st.timer:close()
    st.timer = nil
  end
end

-- Typing: check once it pauses.
local function changed(buf)
  local st = live[buf]
  if not st or st.failed then
    return
  end
  st.timer = st.timer or vim.uv.new_timer()
  st.timer:stop()
  st.timer:start(
    M.DEBOUNCE_MS,
    0,
    vim.schedule_wrap(function()
      M.refresh(buf)
    end)
  )
end

--- `buf` was saved (or read again): check it now, even after a check that failed.
---@param buf integer
function M.save(buf)
  if live[buf] then
    live[buf].failed = false
    M.refresh(buf)
  end
end

--- Stop checking `buf` and remove its diagnostics.
---@param buf integer
function M.detach(buf)
  local st = live[buf]
  if st then
    stop_timer(st)
    live[buf] = nil
  end
  pcall(api.nvim_clear_autocmds, { group = group, buffer = buf })
  if SEVERITY and api.nvim_buf_is_valid(buf) then -- (nothing was drawn before load())
    vim.diagnostic.reset(M.ns, buf)
    vim.b[buf].workflow_check = nil
  end
end

--- Make `buf` live: checked on save and after a pause in typing, until it is wiped.
---@param buf integer
---@return boolean new false when it was live already
function M.attach(buf)
  if live[buf] then
    return false
  end
  load()
  live[buf] = { again = false, shown = -1, flight_at = 0 }
  for _, on in ipairs({
    { { 'TextChanged', 'TextChangedI' }, changed, 'check the workflow file after a pause in typing' },
    { 'BufWritePost', M.save, 'check the workflow file when it is saved' },
    { 'BufWipeout', M.detach, 'a wiped buffer is checked no more' },
  }) do
    api.nvim_create_autocmd(on[1], {
      group = group,
      buffer = buf,
      desc = 'workflow.nvim: ' .. on[3],
      callback = function(ev)
        on[2](ev.buf)
      end,
    })
  end
  return true
end

--- Whether `buf` is checked as it changes.
---@param buf integer
---@return boolean
function M.is_live(buf)
  return live[buf == 0 and api.nvim_get_current_buf() or buf] ~= nil
end

--- A buffer was read or made (plugin/workflow.lua's autocommand for *.yaml, *.yml): a workflow file
--- in a search directory becomes live, and is checked once Neovim has drawn it; one that is live
--- already is checked again.
---@param buf integer
function M.opened(buf)
  if live[buf] then -- read again (:edit): checked again
    return vim.schedule(function()
      M.save(buf)
    end)
  end
  if vim.bo[buf].buftype ~= '' then
    return
  end
  local ok, cfg = pcall(config.options)
  if not ok or not live_wanted(cfg) or not M.qualifies(api.nvim_buf_get_name(buf), cfg) then
    return
  end
  M.attach(buf)
  vim.schedule(function() -- the first check may start Python: after the buffer is shown
    M.refresh(buf)
  end)
end

--- :WorkflowCheck: check the current buffer's text as a workflow file, draw its problems and say
--- the summary in one line; the buffer stays live (unless vim.g.workflow.check_live is false).
---@param cfg workflow.Options
function M.run(cfg)
  load()
  local buf = api.nvim_get_current_buf()
  local step = vim.b[buf].workflow_step ~= nil -- a step buffer: the step's checks, on its text
  if step and not require('workflow.view').save_all() then
    return
  end
  local p = params(buf, false)
  local response = host.command('check', {}, cfg, p)
  if response.trust then -- the step's check command is not trusted yet: ask, then check again
    return require('workflow.trust').ask(response.trust, cfg, function()
      M.run(cfg)
    end)
  end
  if response.diagnostics then
    if live_wanted(cfg) and not step then
      M.attach(buf)
    end
    local d = vim.tbl_extend('force', response.diagnostics, { buf = buf, tick = response.diagnostics.tick or p.tick })
    draw(d)
  end
  local level = response.error and 'error' or response.warning and 'warning' or nil
  local line = response.error or response.warning or (response.info or {})[1]
  if type(line) == 'table' then
    level, line = line[2], line[1]
  end
  if line then
    -- One line, whatever its length: the whole summary is in b:workflow_check.
    message.echo({ { '[workflow] ' .. line, message.HIGHLIGHT[level] } })
  end
end

--- Draw a step's check failures (Response.diagnostics of :WorkflowNext or :WorkflowCheck in a step
--- buffer); no items clear them.
---@param d workflow.Diagnostics
function M.show(d)
  load()
  draw(d)
end

--- A push of workflow.Diagnostics (host.on('diagnostics')): drawn in a live buffer unless older than
--- what it shows.
---@param d workflow.Diagnostics
function M.update(d)
  local buf = d.buf
  if not live[buf] then
    return -- a buffer checked no more (wiped, or :WorkflowCheck with live checks off)
  end
  draw(d)
  local st = live[buf]
  if st and st.again and not st.flight then
    M.refresh(buf) -- what was typed while this text was being checked
  end
end

return M
