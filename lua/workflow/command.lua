-- The front door: :Workflow {subcommand} and the :WorkflowXxx commands, with
-- completion. Each command saves the step buffers, asks the Python side, and
-- hands the answer to workflow.view.
local M = {}

local config = require('workflow.config')

--- subcommand -> completion kind (nil: takes no argument)
M.subcommands = {
  start = 'workflows',
  next = false,
  prev = false,
  ['goto'] = 'steps',
  status = false,
  list = false,
  stop = false,
  revert = 'steps',
  log = false,
  resume = 'runs',
  annotate = false,
  annotate_cancel = false,
  annotate_clear = false,
  models = false,
}

-- Subcommands that work on any buffer, without a run: they neither save step
-- buffers nor need the arguments checked below.
local ANNOTATION = { annotate = true, annotate_cancel = true, annotate_clear = true, models = true }

--- subcommand -> { fewest, most } arguments, and what the argument is
M.arity = {
  start = { 1, 1, 'a workflow name' },
  ['goto'] = { 1, 1, 'a step id or number' },
  revert = { 1, 1, 'a step id or number' },
  resume = { 0, 1, 'a run id' },
}

local function names()
  local list = vim.tbl_keys(M.subcommands)
  table.sort(list)
  return list
end

local function fail(msg)
  vim.notify('[workflow] ' .. msg, vim.log.levels.ERROR)
end

--- Run a subcommand; `opts` is what nvim_create_user_command passes.
function M.run(sub, opts)
  local args = vim.deepcopy(opts.fargs)
  if not sub then
    sub = table.remove(args, 1)
    if sub == nil then
      return fail(('which subcommand? :Workflow {%s}'):format(table.concat(names(), '|')))
    end
    if M.subcommands[sub] == nil then
      return fail(
        ("unknown subcommand '%s'%s (try :Workflow <Tab>: %s)"):format(
          tostring(sub),
          config.did_you_mean(tostring(sub), names()),
          table.concat(names(), ', ')
        )
      )
    end
  end
  if ANNOTATION[sub] then
    local ok, cfg = pcall(config.get)
    if not ok then
      return fail(cfg)
    end
    local annotate = require('workflow.annotate')
    if sub == 'annotate' then
      return annotate.start(opts, cfg)
    elseif sub == 'annotate_cancel' then
      return annotate.cancel(cfg)
    elseif sub == 'annotate_clear' then
      return annotate.clear(0)
    end
    return annotate.models(cfg)
  end
  local arity = M.arity[sub] or { 0, 0 }
  if #args < arity[1] or #args > arity[2] then
    local usage = (':Workflow%s%s'):format(sub:sub(1, 1):upper(), sub:sub(2))
    if arity[2] == 0 then
      return fail(('%s takes no argument'):format(usage))
    end
    return fail(('%s takes %s%s (<Tab> completes)'):format(usage, arity[1] == 0 and 'at most ' or '', arity[3]))
  end
  local ok, cfg = pcall(config.get)
  if not ok then
    return fail(cfg)
  end
  local view = require('workflow.view')
  if (sub == 'next' or sub == 'revert') and package.loaded['workflow.annotate'] then
    for _, buf in ipairs(view.step_buffers()) do
      if require('workflow.annotate').running(buf) then
        -- Its notes would miss the commit, or land in it half-written.
        return fail(
          ('the model is still annotating %s: wait for it, or :WorkflowAnnotateCancel there'):format(
            vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t')
          )
        )
      end
    end
  end
  if not view.save_all() then
    return
  end
  if sub == 'resume' and #args == 0 then
    return M.pick_run(cfg)
  end
  local response = M.call(sub, args, cfg)
  view.apply(response, cfg)
  if response.log then
    require('workflow.log').open(response.log, cfg)
  end
end

--- Ask the Python side (see workflow.host.command; kept here for scripts).
M.call = require('workflow.host').command

--- A result that arrives later from the Python side (a background commit).
function M.deliver(response)
  if response.annotation then
    return require('workflow.annotate').update(response.annotation)
  end
  local ok, cfg = pcall(config.get)
  require('workflow.view').apply(response, ok and cfg or config.defaults())
end

--- :WorkflowResume without argument: choose among the unfinished runs.
function M.pick_run(cfg)
  local view = require('workflow.view')
  local response = M.call('runs', {}, cfg)
  if response.error then
    return view.apply(response, cfg)
  end
  local problems = response.problems or {}
  if #problems > 0 then
    vim.notify(
      ('[workflow] %d run director%s could not be read (%s%s)'):format(
        #problems,
        #problems == 1 and 'y' or 'ies',
        problems[1],
        #problems > 1 and ', ...' or ''
      ),
      vim.log.levels.WARN
    )
  end
  local runs = response.runs or {}
  if #runs == 0 then
    return view.apply({ info = { 'no unfinished runs in ' .. cfg.runs_dir } }, cfg)
  end
  vim.ui.select(runs, {
    prompt = 'Resume which run?',
    format_item = function(r)
      return ('%s  %s  %d/%d done, next: %s'):format(r.run, r.title, r.done, r.total, r.next)
    end,
  }, function(choice)
    if choice then
      vim.cmd('redraw') -- the list is gone before the message: no hit-enter prompt
      view.apply(M.call('resume', { choice.run }, cfg), cfg)
    end
  end)
end

-- Workflow names found on disk, without starting Python: a workflow's name is
-- its file name.
local function workflow_names()
  local ok, cfg = pcall(config.get)
  if not ok then
    return {}
  end
  local seen, list = {}, {}
  for _, d in ipairs(config.dirs(cfg)) do
    for name, kind in vim.fs.dir(d[2]) do
      local stem = name:match('^(.+)%.ya?ml$')
      if stem and (kind == 'file' or kind == 'link') and not seen[stem] and not stem:match('^%.') then
        seen[stem] = true
        list[#list + 1] = stem
      end
    end
  end
  table.sort(list)
  return list
end

-- Step ids and numbers that `sub` accepts now: for goto the steps done and the
-- first one not done, for revert the steps done.
local function step_ids(sub)
  local state = require('workflow.state').peek()
  local list = {}
  for i, s in ipairs(state and state.steps or {}) do
    if s.done or sub ~= 'revert' then
      list[#list + 1] = s.id
      list[#list + 1] = tostring(i)
    end
    if not s.done and sub ~= 'revert' then
      break
    end
  end
  return list
end

-- Run ids under runs_dir, newest first, without starting Python.
local function run_ids()
  local ok, cfg = pcall(config.get)
  if not ok then
    return {}
  end
  local list = {}
  for name, kind in vim.fs.dir(cfg.runs_dir) do
    if kind == 'directory' and name:match('^%d%d%d%d%d%d%d%d%-%d%d%d%d%d%d%-') then
      list[#list + 1] = name
    end
  end
  -- Newest first: by start second, then by N of the N-th run started in that second.
  local function key(id)
    local second, n = id:match('^(%d+%-%d+)%-(%d+)%-')
    return (second or id:sub(1, 15)) .. ('%06d'):format(tonumber(n) or 1)
  end
  table.sort(list, function(a, b)
    return key(a) > key(b)
  end)
  return list
end

local function filter(list, arglead)
  return vim.tbl_filter(function(x)
    return vim.startswith(x, arglead)
  end, list)
end

--- Completion for a command; `sub` is nil for :Workflow itself.
function M.complete(sub, kind, arglead, cmdline, pos)
  if not sub then
    local words = vim.split(cmdline:sub(1, pos), '%s+', { trimempty = false })
    if #words <= 2 then
      return filter(names(), arglead)
    end
    if #words > 3 then
      return {}
    end
    sub, kind = words[2], M.subcommands[words[2]]
  end
  if kind == 'workflows' then
    return filter(workflow_names(), arglead)
  elseif kind == 'steps' then
    return filter(step_ids(sub), arglead)
  elseif kind == 'runs' then
    return filter(run_ids(), arglead)
  end
  return {}
end

return M
