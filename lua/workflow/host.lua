-- The Python side: registering the remote plugin and calling it.
--
-- The plugin registers itself on first use, so nobody needs to run
-- :UpdateRemotePlugins. It runs in its own instance of the python3 host (a
-- clone, as Neovim's legacy provider does): registering on the shared python3
-- host fails once another plugin has started it, and our imports stay out of
-- other plugins' way. If :UpdateRemotePlugins did put us in the manifest, that
-- registration is used and nothing is registered twice.
local M = {}

local config = require('workflow.config')

M.host = 'workflow'
M.path = config.root .. '/rplugin/python3/workflow_nvim'
-- Must match what pynvim reports for plugin.py's @pynvim.function (a test checks).
M.specs = { { type = 'function', name = 'WorkflowRpc', sync = true, opts = vim.empty_dict() } }

local registered_on = nil ---@type string?
local dead = false
local answered = false -- the host has answered at least once

-- True when :UpdateRemotePlugins put this plugin in the manifest.
local function in_manifest()
  for _, p in ipairs(vim.fn['remote#host#PluginsForHost']('python3')) do
    if p.path == M.path then
      return true
    end
  end
  return false
end

--- The host our plugin is registered on, registering it if needed.
function M.register()
  if registered_on then
    return registered_on
  end
  if in_manifest() then
    registered_on = 'python3'
    return registered_on
  end
  vim.fn['remote#host#RegisterClone'](M.host, 'python3')
  vim.fn['remote#host#RegisterPlugin'](M.host, M.path, M.specs)
  registered_on = M.host
  return registered_on
end

--- True when the plugin is registered (by the manifest or by us).
function M.registered()
  return registered_on ~= nil or in_manifest()
end

-- After the host process died, forget it so that the next call starts a new one.
local function reset()
  if registered_on ~= M.host then
    return false
  end
  pcall(vim.cmd, 'delfunction! WorkflowRpc')
  vim.fn['remote#host#RegisterClone'](M.host, 'python3')
  vim.fn['remote#define#FunctionOnHost'](M.host, M.path .. ':function:WorkflowRpc', 1, 'WorkflowRpc', vim.empty_dict())
  return true
end

--- Why the python3 provider cannot run, or nil when it can.
function M.python_problem()
  local prog = vim.g.python3_host_prog
  if type(prog) == 'string' and prog ~= '' and vim.fn.executable(vim.fn.expand(prog)) == 0 then
    return ('g:python3_host_prog is %s, which is not an executable file: fix the path in your config'):format(prog)
  end
  if vim.fn.has('python3') == 0 then
    return 'Neovim found no Python 3 with pynvim: make a venv with pynvim and set g:python3_host_prog to its'
      .. ' python (see :help workflow-python-deps and :checkhealth workflow)'
  end
  return nil
end

--- The Python interpreter the host runs with.
function M.python()
  local prog = require('vim.provider.python').detect_by_module('neovim')
  return prog and vim.fn.exepath(prog) or nil
end

--- Call the Python side: returns its response table ({ error = msg } on failure).
function M.call(command, params)
  local problem = M.python_problem()
  if problem then
    return { error = problem }
  end
  if dead then
    dead = not reset()
  end
  M.register()
  local ok, res = pcall(vim.fn.WorkflowRpc, command, params)
  if ok and type(res) == 'table' then
    answered = true
    return res
  end
  local raw = tostring(res)
  local why = require('workflow.message').error_text(raw)
  local lost = raw:find('Invalid channel') or raw:find('closed') or raw:find('Channel')
  if lost then
    dead = true
  end
  if lost and answered then
    return {
      error = 'the Python host stopped; your saved text is safe on disk. Run the command again to restart it ('
        .. why
        .. ')',
      -- The run stays in WorkflowState(): the next host reopens it from git.
    }
  end
  local python = M.python() or 'python3'
  return {
    error = ('could not start the Python host (%s): check that it has pynvim (`%s -m pip install pynvim`)'
      .. ' and run :checkhealth workflow (%s)'):format(python, python, why),
  }
end

--- Ask the Python side to run command `sub`: `args` are the command's
--- arguments, `extra` more parameters; every call carries what the Python
--- side needs to find the workflows and the run.
---@param sub string
---@param args string[]
---@param cfg table the options (workflow.config.get())
---@param extra table?
---@return table response
function M.command(sub, args, cfg, extra)
  local current = require('workflow.state').peek()
  local params = {
    args = args,
    dirs = config.dirs(cfg),
    runs_dir = cfg.runs_dir,
    log_file = config.log_file(),
    buffer_step = vim.b.workflow_step,
    -- lets a restarted Python host pick the run up again, and lock it for this Neovim
    run_dir = current and current.dir or nil,
    nvim_pid = vim.fn.getpid(),
  }
  return M.call(sub, vim.tbl_extend('force', params, extra or {}))
end

return M
