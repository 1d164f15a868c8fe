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

--- `chunks` (nvim_echo's { text, hl } pairs) cut to fit the message line, with "…" where they
--- were cut: a message longer than the screen makes Neovim wait at "-- More --" for a key.
---@param chunks [string, string?][]
---@param width integer? the columns there are (default: 'echospace', the screen's width less what
--- 'showcmd' and the ruler take there)
---@return [string, string?][]
function M.fit(chunks, width)
  width = width or math.max(vim.v.echospace, 20)
  local out, used = {}, 0
  for _, chunk in ipairs(chunks) do
    local text = chunk[1]:gsub('[\r\n]+', ' ')
    local w = vim.fn.strdisplaywidth(text)
    if used + w > width then
      local room = math.max(width - used - 1, 0)
      local cut = vim.fn.strcharpart(text, 0, room)
      while cut ~= '' and vim.fn.strdisplaywidth(cut) > room do
        cut = vim.fn.strcharpart(cut, 0, vim.fn.strchars(cut) - 1)
      end
      out[#out + 1] = { cut .. '…', chunk[2] }
      return out
    end
    out[#out + 1] = { text, chunk[2] }
    used = used + w
  end
  return out
end

return M
