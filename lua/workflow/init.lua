-- workflow.nvim's Lua API. Calling setup() is optional: it only merges and
-- validates options into vim.g.workflow, which can also be set directly.
-- The types (workflow.Options, workflow.State, ...) are in config.lua and protocol.lua.
local M = {}

--- Merge `opts` over the current vim.g.workflow, after validating them.
--- Raises an error naming the bad field.
---@param opts? workflow.Options
function M.setup(opts)
  local config = require('workflow.config')
  local merged = vim.tbl_extend('force', vim.g.workflow or {}, opts or {})
  local err = config.validate(merged)
  if err then
    error('[workflow] ' .. err, 0)
  end
  vim.g.workflow = merged
end

--- Make the plugin's own Python environment, as :WorkflowInstall does: in the background, with
--- progress, one line at the end. For lazy.nvim's `build` and vim.pack's PackChanged event.
--- `opts.wait`: block until it is done (for `nvim --headless` scripts); then the result is returned.
---@param opts? { wait?: boolean, on_done?: fun(result: workflow.InstallResult) }
---@return workflow.InstallResult?
function M.install(opts)
  return require('workflow.install').run(opts)
end

--- The current run, as WorkflowState() returns it ({} when no run).
---@return workflow.State|{}
function M.state()
  return require('workflow.state').get()
end

--- A short text for a statusline: "blog-post 2/6" (with " ✓" when finished), or "" when no run.
--- Cheap: it reads the state the plugin keeps in Lua and never starts Python.
---@return string
function M.statusline()
  local s = require('workflow.state').peek()
  if not s then
    return ''
  end
  return ('%s %d/%d%s'):format(s.workflow, s.step, s.total, s.finished and ' ✓' or '')
end

--- The absolute path of workflow.schema.json, the JSON Schema of workflow files, for a YAML
--- language server's settings (:help workflow-schema).
---@return string
function M.schema_path()
  local root = require('workflow.config').root
  local rock = root .. '/conf/workflow.schema.json' -- installed by luarocks (the rockspec)
  return vim.uv.fs_stat(root .. '/workflow.schema.json') == nil and vim.uv.fs_stat(rock) and rock
    or root .. '/workflow.schema.json'
end

return M
