-- :checkhealth workflow: what is missing, and the exact command that fixes it.
local M = {}

local health = vim.health
local config = require('workflow.config')
local host = require('workflow.host')

-- import name -> distribution name (as in rplugin/python3/workflow_nvim/plugin.py)
M.dependencies = {
  { 'pynvim', 'pynvim' },
  { 'msgpack', 'msgpack' },
  { 'yaml', 'pyyaml' },
  { 'git', 'gitpython' },
  { 'ollama', 'ollama' },
}

local PROBE = [[
import importlib.metadata as md, importlib.util as u, json, sys
out = {"python": sys.version.split()[0], "deps": {}}
for mod, dist in json.loads(sys.argv[1]):
    found = u.find_spec(mod) is not None
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:
        version = None
    out["deps"][dist] = {"found": found, "version": version}
print(json.dumps(out))
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
  local specs = vim.tbl_map(function(d)
    return { d[1], d[2] }
  end, M.dependencies)
  local out, err = run({ python, '-c', PROBE, vim.json.encode(specs) })
  local ok, probe = pcall(vim.json.decode, out or '')
  if not ok or type(probe) ~= 'table' then
    health.error(('cannot run %s: %s'):format(python, err or '?'))
    return nil
  end
  health.ok(('python3 provider: %s (Python %s)'):format(python, probe.python))
  local missing = {}
  for _, d in ipairs(M.dependencies) do
    local dep = probe.deps[d[2]]
    if dep and dep.found then
      health.ok(('%s %s'):format(d[2], dep.version or '(version unknown)'))
    else
      missing[#missing + 1] = d[2]
      health.error(('%s is not installed for %s'):format(d[2], python))
    end
  end
  if #missing > 0 then
    health.info(('install what is missing: `%s -m pip install %s`'):format(python, table.concat(missing, ' ')))
  end
  if host.registered() then
    health.ok('remote plugin registered')
  else
    health.ok('remote plugin: registers itself on first use (no :UpdateRemotePlugins needed)')
  end
  return python, #missing == 0 or not vim.tbl_contains(missing, 'pyyaml')
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
      health.ok(('%s: %s (%d steps, %s: %s)'):format(e.name, e.title, e.steps, e.kind, e.path))
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
  check_runs_dir(cfg)
  check_workflows(cfg, python, have_yaml)
end

return M
