-- :checkhealth workflow: what is missing, and the exact command that fixes it.
local M = {}

local health = vim.health
local config = require('workflow.config')
local host = require('workflow.host')

-- The list of Python dependencies lives in rplugin/python3/workflow_nvim/dependencies.py;
-- it is loaded on its own, so this works with any Python, with or without pynvim.
local PROBE = [[
import json, sys
sys.path.insert(0, sys.argv[1])
import dependencies
print(json.dumps(dependencies.report()))
]]

local function run(cmd, env)
  local ok, obj = pcall(function()
    return vim.system(cmd, { text = true, env = env }):wait(15000)
  end)
  if not ok then
    return nil, tostring(obj)
  end
  if obj.code ~= 0 and (obj.stdout or '') == '' then
    return nil, vim.trim(obj.stderr or '') .. ' (exit ' .. tostring(obj.code) .. ')'
  end
  return obj.stdout, obj.stderr
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

local function check_python()
  health.start('Python host')
  local problem = host.python_problem()
  if problem then
    health.error(problem)
    return nil
  end
  local python = host.python()
  if not python then
    health.error(
      'no Python 3 with pynvim found',
      { 'install it: `python3 -m pip install --user pynvim`', 'or set g:python3_host_prog to a Python that has it' }
    )
    return nil
  end
  local out, err = run({ python, '-c', PROBE, config.root .. '/rplugin/python3/workflow_nvim' })
  local ok, probe = pcall(vim.json.decode, out or '')
  if not ok or type(probe) ~= 'table' then
    health.error(('cannot run %s: %s'):format(python, err or '?'))
    return nil
  end
  local found = {}
  for _, dep in ipairs(probe.deps) do
    found[dep.dist] = dep.found
  end
  if found.pynvim then
    health.ok(('python3 provider: %s (Python %s)'):format(python, probe.python))
  else
    health.error(('python3 provider: %s (Python %s) has no pynvim'):format(python, probe.python))
  end
  local missing = {}
  for _, dep in ipairs(probe.deps) do
    if dep.found then
      health.ok(('%s %s'):format(dep.dist, dep.version ~= vim.NIL and dep.version or '(version unknown)'))
    else
      missing[#missing + 1] = dep.dist
      if dep.needed_by ~= '' then
        health.warn(('%s is not installed for %s (needed by %s)'):format(dep.dist, python, dep.needed_by))
      else
        health.error(('%s is not installed for %s'):format(dep.dist, python))
      end
    end
  end
  if #missing > 0 then
    -- The interpreter Neovim starts (maybe a wrapper), not the one it ends up running.
    health.info(('install what is missing: `%s -m pip install %s`'):format(python, table.concat(missing, ' ')))
  end
  if host.registered() then
    health.ok('remote plugin registered')
  else
    health.ok('remote plugin: registers itself on first use (no :UpdateRemotePlugins needed)')
  end
  return python, found.pyyaml == true
end

local function check_git(cfg)
  health.start('git')
  if vim.fn.executable('git') == 0 then
    health.error('git is not on PATH', 'install git: every completed step is a git commit')
    return
  end
  local out = run({ 'git', '--version' }) or ''
  health.ok(vim.trim(out))
  -- Runs inside a project repository commit with the person's identity.
  local probe = cfg.runs_dir
  while vim.fn.isdirectory(probe) == 0 and vim.fs.dirname(probe) ~= probe do
    probe = vim.fs.dirname(probe)
  end
  local top = vim.trim(run({ 'git', '-C', probe, 'rev-parse', '--show-toplevel' }) or '')
  if top ~= '' and vim.fn.isdirectory(top) == 1 then
    local ident = run({ 'git', '-C', top, 'var', 'GIT_COMMITTER_IDENT' })
    if ident and ident ~= '' then
      health.ok(('runs go into the repository %s, as %s'):format(top, vim.trim(ident):gsub(' %d+ [+-]%d+$', '')))
    else
      health.error(
        ('runs go into the repository %s, which has no user.name/user.email'):format(top),
        "git config --global user.name 'Your Name'; git config --global user.email you@example.org"
      )
    end
  else
    health.ok('each run is a git repository of its own')
  end
end

-- Where annotation text goes is decided in Python (workflow_nvim/destination.py), which
-- this runs on its own, as dependencies.py above: one rule, with any Python.
local function check_ollama(cfg, python)
  health.start('Ollama (for :WorkflowAnnotate)')
  if not python then
    health.warn('cannot check Ollama without the python3 host (see above)')
    return
  end
  local script = config.root .. '/rplugin/python3/workflow_nvim/destination.py'
  local out, err = run({ python, script, cfg.ollama_host or '', cfg.allow_remote and '1' or '0', cfg.model })
  local ok, probe = pcall(vim.json.decode, out or '', { luanil = { object = true, array = true } })
  if not ok or type(probe) ~= 'table' then
    health.error(('cannot run %s: %s'):format(python, err or '?'))
    return
  end
  local url = probe.url
  if probe['local'] then
    health.ok(('text goes to %s: this machine (from %s)'):format(url, probe.source))
  elseif probe.allowed_by ~= '' then
    health.info(
      ('text goes to %s: another machine, allowed by %s (host from %s)'):format(url, probe.allowed_by, probe.source)
    )
  elseif probe.unusable then
    health.error(probe.unusable)
    return
  else
    health.error(
      ('text would go to %s: another machine, not allowed (host from %s)'):format(url, probe.source),
      { 'set vim.g.workflow.allow_remote = true to allow it', 'or point vim.g.workflow.ollama_host at this machine' }
    )
  end
  if cfg.allow_remote then
    health.info('vim.g.workflow.allow_remote is true: another machine or a cloud model may get text')
  else
    health.ok('vim.g.workflow.allow_remote is false: no cloud model, no other machine unless $OLLAMA_HOST')
  end
  if probe.error then
    health.warn(('Ollama is not reachable at %s (%s)'):format(url, probe.error), {
      'start it with `ollama serve`, or set vim.g.workflow.ollama_host',
      'everything but :WorkflowAnnotate works without it',
    })
    return
  end
  health.ok(('Ollama %s at %s'):format(probe.version or '?', url))
  local names = probe.models or {}
  local want = cfg.model
  local found = false
  for _, name in ipairs(names) do
    if name == want or name == want .. ':latest' then
      found = name
    end
  end
  if found then
    health.ok(('model %s is on the server'):format(want))
  else
    health.warn(
      ('model %s is not on the server (it has: %s)'):format(want, #names > 0 and table.concat(names, ', ') or 'none'),
      ('ollama pull %s'):format(want)
    )
  end
  local elsewhere = (found and (probe.remote or {})[found]) or (probe.model_runs_on ~= '' and probe.model_runs_on)
  if elsewhere and cfg.allow_remote then
    health.info(('model %s runs on %s, not on this machine (allowed)'):format(want, elsewhere))
  elseif elsewhere then
    health.warn(
      ('model %s runs on %s: :WorkflowAnnotate will not send it text'):format(want, elsewhere),
      { 'set vim.g.workflow.allow_remote = true to allow it', 'or choose a local model with :WorkflowModels' }
    )
  end
end

local function check_runs_dir(cfg)
  health.start('Runs')
  local dir = cfg.runs_dir
  local probe = dir
  while vim.fn.isdirectory(probe) == 0 and vim.fn.filereadable(probe) == 0 do
    local parent = vim.fs.dirname(probe)
    if parent == probe then
      break
    end
    probe = parent
  end
  if vim.fn.isdirectory(probe) == 1 and vim.fn.filewritable(probe) == 2 then
    health.ok(('runs directory: %s%s'):format(dir, probe == dir and '' or ' (created on first start)'))
  else
    health.error(
      ('runs directory %s is not writable (%s)'):format(dir, probe),
      'set vim.g.workflow.runs_dir to a directory you can write, or fix its permissions'
    )
  end
end

local function check_workflows(cfg, python, have_yaml)
  health.start('Workflows')
  if not (python and have_yaml) then
    health.warn('cannot check workflow files without a Python that has pyyaml (see above)')
    return
  end
  local cmd = { python, '-m', 'workflow_nvim', 'list', '--json' }
  for _, d in ipairs(config.dirs(cfg)) do
    cmd[#cmd + 1] = '--dir=' .. d[1] .. '=' .. d[2]
  end
  local env = { PYTHONPATH = config.root .. '/rplugin/python3' }
  local out, err = run(cmd, env)
  local ok, entries = pcall(vim.json.decode, out or '')
  if not ok or type(entries) ~= 'table' then
    health.error('could not list workflows: ' .. tostring(err))
    return
  end
  if #entries == 0 then
    health.warn('no workflows found', 'bundled workflows should be in ' .. config.root .. '/workflows')
  end
  for _, e in ipairs(entries) do
    if #e.problems == 0 then
      local steps = e.steps == 1 and '1 step' or ('%d steps'):format(e.steps)
      health.ok(('%s: %s (%s, %s: %s)'):format(e.name, e.title, steps, e.kind, e.path))
    else
      health.error(('%s is invalid (%s)'):format(e.name, e.path), e.problems)
    end
    for _, s in ipairs(e.shadowed) do
      health.info(('%s shadows %s'):format(e.name, s))
    end
  end
end

function M.check()
  check_neovim()
  local ok, cfg = pcall(config.get)
  health.start('Options')
  if ok then
    health.ok('vim.g.workflow is valid')
  else
    health.error(cfg)
    cfg = config.defaults()
  end
  local python, have_yaml = check_python()
  check_git(cfg)
  check_runs_dir(cfg)
  check_workflows(cfg, python, have_yaml)
  check_ollama(cfg, python)
end

return M
