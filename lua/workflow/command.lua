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
  local ok, cfg = pcall(config.get)
  if not ok then
    return fail(cfg)
  end
  local view = require('workflow.view')
  if not view.save_all() then
    return
  end
  if sub == 'resume' and #args == 0 then
    return M.pick_run(cfg)
  end
  view.apply(M.call(sub, args, cfg), cfg)
end

--- Ask the Python side; `args` are the command's arguments.
function M.call(sub, args, cfg)
  local current = require('workflow.state').peek()
  return require('workflow.host').call(sub, {
    args = args,
    dirs = config.dirs(cfg),
    runs_dir = cfg.runs_dir,
    log_file = config.log_file(),
    buffer_step = vim.b.workflow_step,
    -- lets a restarted Python host pick the run up again, and lock it for this Neovim
    run_dir = current and current.dir or nil,
    nvim_pid = vim.fn.getpid(),
  })
end

--- A result that arrives later from the Python side (a background commit).
function M.deliver(response)
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
  for _, problem in ipairs(response.problems or {}) do
    vim.notify('[workflow] ' .. problem, vim.log.levels.WARN)
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

local function step_ids()
  local state = require('workflow.state').peek()
  local list = {}
  for i, s in ipairs(state and state.steps or {}) do
    list[#list + 1] = s.id
    list[#list + 1] = tostring(i)
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
    kind = M.subcommands[words[2]]
  end
  if kind == 'workflows' then
    return filter(workflow_names(), arglead)
  elseif kind == 'steps' then
    return filter(step_ids(), arglead)
  elseif kind == 'runs' then
    return filter(run_ids(), arglead)
  end
  return {}
end

return M
