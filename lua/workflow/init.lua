-- workflow.nvim's Lua API. Calling setup() is optional: it only merges and
-- validates options into vim.g.workflow, which can also be set directly.
local M = {}

--- Merge `opts` over the current vim.g.workflow, after validating them.
--- Raises an error naming the bad field.
---@param opts table|nil
function M.setup(opts)
  local config = require('workflow.config')
  local merged = vim.tbl_extend('force', vim.g.workflow or {}, opts or {})
  local err = config.validate(merged)
  if err then
    error('[workflow] ' .. err, 0)
  end
  vim.g.workflow = merged
end

--- The current run, as WorkflowState() returns it ({} when no run).
function M.state()
  return require('workflow.state').get()
end

return M
