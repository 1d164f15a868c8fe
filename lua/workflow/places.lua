-- Where the plugin keeps things on disk: the rule of rplugin/python3/workflow_nvim/places.py,
-- needed here before Python starts (which Python to start, where its log goes). Four directories
-- named workflow.nvim, from the XDG variables (an empty one counts as unset) and $HOME, the same
-- in Vim (autoload/workflow/places.vim) and Neovim; tests/e2e/test_places.py proves all three agree.
local M = {}

M.APP = 'workflow.nvim'

---@class workflow.Places
---@field data string runs/, venv/
---@field config string workflows/
---@field cache string python.json, workflows/
---@field state string workflow.log
---@field runs string where runs are made, unless vim.g.workflow.runs_dir says otherwise
---@field venv string the plugin's own Python environment (:WorkflowInstall)
---@field workflows string the person's own workflows
---@field log string the server's log
---@field python_cache string the interpreter chosen, so that a cold start probes nothing

local XDG = {
  data = { 'XDG_DATA_HOME', '/.local/share' },
  config = { 'XDG_CONFIG_HOME', '/.config' },
  cache = { 'XDG_CACHE_HOME', '/.cache' },
  state = { 'XDG_STATE_HOME', '/.local/state' },
}

local function base(kind)
  local name, default = XDG[kind][1], XDG[kind][2]
  local value = vim.env[name]
  if value == nil or value == '' then
    local home = vim.env.HOME
    value = (home and home ~= '' and home or vim.uv.os_homedir()) .. default
  end
  return (value:gsub('(.)/+$', '%1'))
end

--- The plugin's places, from the environment as it is now.
---@return workflow.Places
function M.get()
  local p = {}
  for kind in pairs(XDG) do
    p[kind] = base(kind) .. '/' .. M.APP
  end
  p.runs = p.data .. '/runs'
  p.venv = p.data .. '/venv'
  p.workflows = p.config .. '/workflows'
  p.log = p.state .. '/workflow.log'
  p.python_cache = p.cache .. '/python.json'
  return p
end

--- Neovim's places before the plugin had its own (stdpath(), which follows $NVIM_APPNAME): still
--- read, written no more.
---@return { runs: string, venv: string, workflows: string }
function M.legacy()
  local data = vim.fn.stdpath('data')
  return {
    runs = data .. '/workflow/runs',
    venv = data .. '/workflow/venv',
    workflows = vim.fn.stdpath('config') .. '/workflows',
  }
end

return M
