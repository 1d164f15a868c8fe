-- Words for the person: a leaf that every other module may require (it
-- requires none of them).
local M = {}

--- The useful part of a Vim or Lua error: "E37: No write since last change", not the call chain.
---@param err any
---@return string
function M.error_text(err)
  local text = tostring(err)
  local e = text:match('(E%d+: [^\n]*)')
  if e then
    return e
  end
  text = text:gsub('^Vim%(%a+%):', ''):gsub('^Vim:', '')
  return vim.trim(vim.split(text, '\n', { plain = true })[1] or text)
end

return M
