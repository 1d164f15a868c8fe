-- :checkhealth workflow. What is right or wrong is decided in Python, by
-- `python -m workflow_nvim doctor` (rplugin/python3/workflow_nvim/doctor.py):
-- this module draws its answer, and adds what only the editor knows: its
-- version, the options, and which Python host.lua chooses, and why.
local M = {}

local health = vim.health
local config = require('workflow.config')
local host = require('workflow.host')
local message = require('workflow.message')

local draw = { ok = health.ok, info = health.info, warning = health.warn, error = health.error }

-- The doctor's report from `python` (with `params`: the whole report), or nil and why not.
local function doctor(python, params)
  local cmd = { python, '-m', 'workflow_nvim', 'doctor', '--json', '--python', python }
  if params then
    vim.list_extend(cmd, { '--params', '-' })
  end
  local ok, obj = pcall(function()
    return vim
      .system(cmd, {
        text = true,
        env = { PYTHONPATH = host.pythonpath() },
        stdin = params and vim.json.encode(params) or nil,
      })
      :wait(30000)
  end)
  if not ok then
    return nil, message.error_text(obj)
  end
  local decoded, report = pcall(vim.json.decode, obj.stdout or '', { luanil = { object = true, array = true } })
  if decoded and type(report) == 'table' and type(report.sections) == 'table' then
    return report
  end
  local lines = vim.split(vim.trim(obj.stderr or ''), '\n')
  local last = vim.trim(lines[#lines] or '')
  return nil, last ~= '' and last or ('exit code %d'):format(obj.code)
end

local function check_neovim()
  health.start('Neovim')
  local v = vim.version()
  local text = ('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.10') == 1 then
    health.ok(text)
  else
    health.error(text .. ' is too old', 'workflow.nvim needs Neovim 0.10 or newer')
  end
end

-- The interpreters in host.lua's order: the first whose doctor finds the required packages is
-- the one a start chooses. Returns it (or, when there is none, the first that runs) and its origin.
local function choose(cfg)
  health.start('Python')
  local chosen, fallback
  for _, c in ipairs(host.candidates(cfg)) do
    local python, origin = c[1], c[2]
    local why
    if vim.fn.executable(python) == 0 then
      why = 'not an executable file'
    else
      local report, err = doctor(python)
      if report and #report.required_missing == 0 then
        chosen = { python, origin }
        break
      end
      fallback = fallback or { python, origin }
      why = err or ('missing Python packages ' .. table.concat(report.required_missing, ', '))
    end
    health.info(('passed over %s (%s): %s'):format(python, origin, why))
  end
  if chosen then
    health.ok(('chosen: %s (%s)'):format(chosen[1], chosen[2]))
  else
    health.error('no Python with the packages workflow.nvim needs', {
      "run :WorkflowInstall: it makes the plugin's own environment, " .. host.venv(),
      'or set vim.g.workflow.python to a Python that has them: see :help workflow-python',
    })
  end
  local cached = host.cached()
  if cached and (not chosen or cached.python ~= chosen[1]) then
    health.info(
      ('the last start chose %s (%s), which is used while it does not change: :WorkflowInstall chooses again'):format(
        cached.python,
        cached.origin
      )
    )
  end
  local running = host.running()
  if running then
    health.info(('the server running now: %s (pid %s)'):format(running.python, tostring(running.pid)))
  end
  if not chosen and fallback then
    health.info(('what %s (%s) has:'):format(fallback[1], fallback[2]))
  end
  return chosen or fallback
end

function M.check()
  check_neovim()
  local ok, cfg = pcall(config.options)
  health.start('Options')
  if ok then
    health.ok('vim.g.workflow is valid')
  else
    health.error(cfg)
    cfg = vim.empty_dict() -- then the defaults: Python applies them
  end
  local python = choose(cfg)
  if not python then
    health.error('no Python 3 to check the rest with', 'install Python 3.9 or newer, then run :WorkflowInstall')
    return
  end
  local params = host.params(cfg)
  local report, err = doctor(python[1], params)
  if not report then
    health.error(('cannot run %s: %s'):format(python[1], err))
    return
  end
  if report.protocol ~= host.PROTOCOL then
    health.error(
      ('%s has workflow_nvim of protocol %s, this plugin speaks %d'):format(python[1], report.protocol, host.PROTOCOL),
      'run :WorkflowInstall, or remove the other copy of workflow_nvim from that Python'
    )
  end
  for _, section in ipairs(report.sections) do
    if section.name ~= 'Python' then -- that one goes on under the heading above
      health.start(section.name)
    end
    for _, entry in ipairs(section.items) do
      local fn = draw[entry.level] or health.info
      fn(entry.text, #entry.advice > 0 and entry.advice or nil)
    end
  end
end

return M
