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

--- Echo `chunks` on the message line and in :messages, cut to fit it: never a Press-ENTER prompt.
---@param chunks [string, string?][]
function M.echo(chunks)
  vim.api.nvim_echo(M.fit(chunks), true, {})
end

--- Tell the person `text` in one line, "[workflow] text", whole: what went wrong and what to do
--- matter more than a Press-ENTER prompt, so the words are kept short instead (paths with ~).
---@param text string
---@param level integer? vim.log.levels (INFO by default)
function M.say(text, level)
  vim.notify('[workflow] ' .. text, level or vim.log.levels.INFO)
end

-- What a line means (protocol.Severity) -> how it looks.
M.HIGHLIGHT = { error = 'ErrorMsg', warning = 'WarningMsg' }

local page_ns = vim.api.nvim_create_namespace('workflow_page')

--- Show `lines` (protocol Lines: text, or { text, severity }) whole, in a scratch window at the
--- bottom named workflow://`name`, as tall as its lines (at most half the screen); `q` closes
--- it. A page is never a message: more lines than 'cmdheight' would ask for ENTER.
---@param name string
---@param lines (string|string[])[]
function M.page(name, lines)
  local api = vim.api
  local text, marks = {}, {}
  for i, line in ipairs(lines) do
    if type(line) == 'table' then
      text[i], marks[i] = line[1], M.HIGHLIGHT[line[2]]
    else
      text[i] = line
    end
  end
  local bufname = 'workflow://' .. name
  local buf = vim.fn.bufnr('^' .. vim.fn.fnameescape(bufname) .. '$')
  if buf < 0 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, bufname)
    vim.bo[buf].bufhidden = 'wipe'
    vim.bo[buf].swapfile = false
    vim.bo[buf].filetype = 'workflow' .. name
    vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'Close' })
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, text)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  api.nvim_buf_clear_namespace(buf, page_ns, 0, -1)
  for i, hl in pairs(marks) do
    api.nvim_buf_set_extmark(buf, page_ns, i - 1, 0, { end_col = #text[i], hl_group = hl })
  end
  local height = math.max(1, math.min(#text, math.floor(vim.o.lines / 2)))
  local win = vim.fn.bufwinid(buf)
  if win < 0 then
    vim.cmd(('botright %dsplit'):format(height))
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, buf)
  else
    api.nvim_set_current_win(win)
    api.nvim_win_set_height(win, height)
  end
  vim.wo[win].winfixheight = true
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].wrap = false
  api.nvim_win_set_cursor(win, { 1, 0 })
end

return M
