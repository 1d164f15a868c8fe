-- The current run as the Python side last described it. WorkflowState() reads
-- this copy, so statuslines never wait on (or start) the Python host.
local M = {}

local current = nil

---@param state workflow.State|vim.NIL|nil
function M.set(state)
  if state == vim.NIL then
    state = nil
  end
  current = state
end

--- The current run: { workflow, title, run, dir, step, total, finished,
--- steps = { {id, title, done, file}, ... } }, or an empty dict.
---@return workflow.State|{}
function M.get()
  if not current then
    return vim.empty_dict()
  end
  return vim.deepcopy(current)
end

--- The raw table, for the plugin's own use (no copy; do not modify).
---@return workflow.State?
function M.peek()
  return current
end

return M
