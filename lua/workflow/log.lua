-- :WorkflowLog: the run's history in a buffer, one line per commit.
-- <CR> shows the step's text at that commit, d its diff, q closes.
local M = {}

local api = vim.api

M.maps = {
  { '<CR>', 'show', "Open the step's text at this commit" },
  { 'd', 'diff', 'Show what this commit changed' },
  { 'q', 'close', 'Close the log' },
}

-- buffer -> the log it shows (kept in Lua: a long history is slow to copy into b: variables)
local shown = {}

local function scratch(name, lines, filetype)
  local buf = vim.fn.bufnr('^' .. vim.fn.fnameescape(name) .. '$')
  if buf < 0 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, name)
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  if filetype and filetype ~= '' then
    vim.bo[buf].filetype = filetype
  end
  return buf
end

local function entry_under_cursor(buf)
  local log = shown[buf]
  local i = api.nvim_win_get_cursor(0)[1] - 1 -- line 1 is the header
  local e = log and log.entries[i]
  if not e then
    return nil, nil
  end
  return e, log.steps[e.id] or { file = '', filetype = '' }
end

local function show(buf, diff)
  local e, step = entry_under_cursor(buf)
  if not e then
    return
  end
  -- a line of no step (a finish, a reopening) has no text to open: both keys show what it is
  diff = diff or step.file == ''
  local cfg = require('workflow.config').options()
  local file = (diff and e.kind ~= 'step') and '' or step.file
  -- the log's own run (one :WorkflowRuns listed need not be the run open here)
  local args = { e.hash, file, diff and 'diff' or nil }
  local response = require('workflow.host').command('show', args, cfg, { run_dir = shown[buf].dir })
  if response.error then
    return require('workflow.view').apply(response, cfg)
  end
  local text = response.text or ''
  local lines = vim.split(text, '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  local what = diff and 'diff' or vim.fs.basename(step.file)
  local name = ('workflow://%s/%s/%s'):format(shown[buf].run, e.short, what)
  local target = scratch(name, lines, diff and 'git' or step.filetype)
  vim.cmd('belowright split')
  api.nvim_win_set_buf(0, target)
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = target, nowait = true, desc = 'Close' })
end

--- Show the log response `log` in a buffer of its own: the lines Python wrote, and the maps.
function M.open(log)
  local lines = { log.header .. ' (<CR> text, d diff, q close)' }
  for _, e in ipairs(log.entries) do
    lines[#lines + 1] = e.line
  end
  lines[#lines + 1] = log.empty
  local buf = scratch('workflow://log/' .. log.run, lines, 'workflowlog')
  shown[buf] = log
  api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      shown[buf] = nil
    end,
  })
  if vim.fn.bufwinid(buf) == -1 then
    vim.cmd('botright split')
    api.nvim_win_set_buf(0, buf)
  else
    api.nvim_set_current_win(vim.fn.bufwinid(buf))
  end
  if #log.entries > 0 then
    api.nvim_win_set_cursor(0, { 2, 0 })
  end
  local actions = {
    show = function()
      show(buf, false)
    end,
    diff = function()
      show(buf, true)
    end,
    close = function()
      if #api.nvim_tabpage_list_wins(0) > 1 then
        vim.cmd('close')
      else
        vim.cmd('bwipeout')
      end
    end,
  }
  for _, m in ipairs(M.maps) do
    vim.keymap.set('n', m[1], actions[m[2]], { buffer = buf, nowait = true, desc = m[3] })
  end
end

return M
