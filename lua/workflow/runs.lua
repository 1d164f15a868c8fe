-- :WorkflowRuns: every run under runs_dir in a buffer, newest first, as Python
-- wrote the lines. <CR> opens the run (:WorkflowResume), e exports it, l shows
-- its log, q closes.
local M = {}

local api = vim.api

M.maps = {
  { '<CR>', 'open', 'Resume this run, or open it if it is finished' },
  { 'e', 'export', 'Export this run as one Markdown document' },
  { 'l', 'log', "Show this run's log" },
  { 'q', 'close', 'Close the list' },
}

-- buffer -> line number -> the run it shows ({run, dir, line})
local shown = {}
-- how <CR> resumes a run: given by the front door (command.lua), which this module sits below
local resume = function(_) end

local function item_under_cursor(buf)
  return (shown[buf] or {})[api.nvim_win_get_cursor(0)[1]]
end

local function options()
  local ok, cfg = pcall(require('workflow.config').options)
  if not ok then
    require('workflow.message').say(cfg, vim.log.levels.ERROR)
    return nil
  end
  return cfg
end

local actions = {}

function actions.close()
  if #api.nvim_tabpage_list_wins(0) > 1 then
    vim.cmd('close')
  else
    vim.cmd('bwipeout')
  end
end

function actions.open(buf)
  local item = item_under_cursor(buf)
  if item then
    actions.close() -- the run opens in the window the list was opened from
    -- As :WorkflowResume (saving the step buffers first), called as a function: through vim.cmd a
    -- refusal said as an error would come back as a Lua error with its traceback.
    resume(item.run)
  end
end

-- `sub` of the run under the cursor: Params.run_dir names it (it need not be the run open here).
local function of_run(buf, sub)
  local item, cfg = item_under_cursor(buf), options()
  if not (item and cfg) then
    return
  end
  local response = require('workflow.host').command(sub, {}, cfg, { run_dir = item.dir })
  require('workflow.view').apply(response, cfg)
  if response.log then
    require('workflow.log').open(response.log)
  end
end

function actions.export(buf)
  of_run(buf, 'export')
end

function actions.log(buf)
  of_run(buf, 'log')
end

--- :WorkflowRuns: ask Python for the list and show it in the `workflow://runs` buffer.
---@param cfg workflow.Options
---@param resume_run fun(run: string) what <CR> does: :WorkflowResume {run}, as a function
function M.open(cfg, resume_run)
  resume = resume_run
  local view = require('workflow.view')
  local response = require('workflow.host').command('runs', {}, cfg)
  local list = response.runs
  response.runs = nil
  view.apply(response, cfg)
  if not list then
    return
  end
  local name = 'workflow://runs'
  local buf = vim.fn.bufnr('^' .. name .. '$')
  if buf < 0 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, name)
    vim.bo[buf].bufhidden = 'wipe'
    vim.bo[buf].swapfile = false
    api.nvim_create_autocmd('BufWipeout', {
      buffer = buf,
      once = true,
      callback = function()
        shown[buf] = nil
      end,
    })
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, list.lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  vim.bo[buf].filetype = 'workflowruns'
  shown[buf] = {}
  for _, item in ipairs(list.items or {}) do
    shown[buf][item.line] = item
  end
  if vim.fn.bufwinid(buf) == -1 then
    vim.cmd('botright split')
    api.nvim_win_set_buf(0, buf)
  else
    api.nvim_set_current_win(vim.fn.bufwinid(buf))
  end
  local first = (list.items or {})[1]
  api.nvim_win_set_cursor(0, { first and first.line or 1, 0 })
  for _, m in ipairs(M.maps) do
    vim.keymap.set('n', m[1], function()
      actions[m[2]](buf)
    end, { buffer = buf, nowait = true, desc = m[3] })
  end
end

return M
