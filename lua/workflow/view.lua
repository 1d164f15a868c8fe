-- Rendering what the Python side answers: step buffers, their instructions
-- and winbar, messages. Step buffers edit the step files themselves, so :w,
-- swap files and undo work as everywhere; they are also saved whenever the
-- person leaves them, and when Neovim exits, so nothing typed is lost.
local M = {}

local api = vim.api
local state = require('workflow.state')

M.ns = api.nvim_create_namespace('workflow')
local group = api.nvim_create_augroup('workflow_steps', { clear = true })

-- <Plug> map -> default buffer-local key in step buffers
M.default_maps = {
  { '<LocalLeader>n', '<Plug>(WorkflowNext)', 'Complete this step and open the next' },
  { '<LocalLeader>p', '<Plug>(WorkflowPrev)', 'Open the previous step' },
  { '<LocalLeader>s', '<Plug>(WorkflowStatus)', 'Show the progress of this run' },
}

local function notify(msg, level)
  vim.notify('[workflow] ' .. msg, level or vim.log.levels.INFO)
end

--- Buffers that show a step of a run (all runs when `run` is nil).
function M.step_buffers(run)
  local list = {}
  for _, buf in ipairs(api.nvim_list_bufs()) do
    local step = api.nvim_buf_is_loaded(buf) and vim.b[buf].workflow_step
    if step and (run == nil or step.run == run) then
      list[#list + 1] = buf
    end
  end
  return list
end

--- Write a step buffer if it has unsaved changes; false (and a message) on failure.
function M.save(buf)
  if not (api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified) then
    return true
  end
  local ok, err = pcall(api.nvim_buf_call, buf, function()
    vim.cmd('silent lockmarks keepalt update')
  end)
  if not ok then
    notify(
      ('could not save %s: %s; your text is still in the buffer'):format(
        api.nvim_buf_get_name(buf),
        tostring(err):gsub('^Vim%(%a+%):', '')
      ),
      vim.log.levels.ERROR
    )
  end
  return ok
end

--- Save every step buffer; false if one could not be saved.
function M.save_all()
  local ok = true
  for _, buf in ipairs(M.step_buffers()) do
    ok = M.save(buf) and ok
  end
  return ok
end

local function escape_statusline(s)
  return (s:gsub('%%', '%%%%'))
end

local function set_winbar(win, buf)
  local step = vim.b[buf].workflow_step
  if not step then
    return
  end
  local text = ('%%#WorkflowProgress# %s · Step %d/%d: %s'):format(
    escape_statusline(step.workflow or ''),
    step.index,
    step.total,
    escape_statusline(step.title or '')
  )
  local run = state.peek()
  if run and run.run == step.run and run.steps[step.index] and run.steps[step.index].done then
    text = text .. ' %#WorkflowDone#✓'
  end
  api.nvim_set_option_value('winbar', text, { win = win, scope = 'local' })
end

--- Redraw the winbar of every window showing a step buffer.
function M.refresh_winbars()
  for _, win in ipairs(api.nvim_list_wins()) do
    local buf = api.nvim_win_get_buf(win)
    if vim.b[buf].workflow_step then
      set_winbar(win, buf)
    end
  end
end

local function show_instructions(buf, o)
  api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  local lines = { { { o.progress, 'WorkflowInstructionsTitle' } } }
  for _, line in ipairs(o.instructions) do
    lines[#lines + 1] = { { line, 'WorkflowInstructions' } }
  end
  lines[#lines + 1] = { { '', 'WorkflowInstructions' } }
  api.nvim_buf_set_extmark(buf, M.ns, 0, 0, {
    virt_lines = lines,
    virt_lines_above = true,
    right_gravity = false,
  })
  return #lines
end

local function attach(buf, cfg)
  if vim.b[buf].workflow_attached then
    return
  end
  vim.b[buf].workflow_attached = true
  api.nvim_create_autocmd({ 'BufLeave', 'FocusLost', 'CursorHold' }, {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: save the step',
    callback = function(ev)
      M.save(ev.buf)
    end,
  })
  -- gg or k to line 1 scrolls to the top row, which hides the instructions
  -- above line 1 (they are filler lines); bring them back into view.
  api.nvim_create_autocmd('CursorMoved', {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: show the instructions at the top',
    callback = function(ev)
      local height = vim.b[ev.buf].workflow_instructions_height
      if height and vim.fn.line('.') == 1 and vim.fn.line('w0') == 1 and vim.fn.winsaveview().topfill < height then
        vim.fn.winrestview({ topline = 1, topfill = height })
      end
    end,
  })
  api.nvim_create_autocmd('BufWinEnter', {
    group = group,
    buffer = buf,
    callback = function(ev)
      set_winbar(api.nvim_get_current_win(), ev.buf)
    end,
  })
  api.nvim_create_autocmd('BufWinLeave', {
    group = group,
    buffer = buf,
    callback = function()
      api.nvim_set_option_value('winbar', '', { win = api.nvim_get_current_win(), scope = 'local' })
    end,
  })
  if cfg.default_mappings then
    for _, m in ipairs(M.default_maps) do
      if vim.fn.hasmapto(m[2], 'n') == 0 then
        vim.keymap.set('n', m[1], m[2], { buffer = buf, remap = true, desc = m[3] })
      end
    end
  end
end

--- Turn a step buffer back into a plain file buffer (after :WorkflowStop).
function M.detach(buf)
  if not vim.b[buf].workflow_step then
    return
  end
  M.save(buf)
  api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  api.nvim_clear_autocmds({ group = group, buffer = buf })
  for _, m in ipairs(M.default_maps) do
    if vim.fn.maparg(m[1], 'n', false, true).buffer == 1 then
      pcall(vim.keymap.del, 'n', m[1], { buffer = buf })
    end
  end
  vim.b[buf].workflow_step = nil
  vim.b[buf].workflow_attached = nil
  vim.b[buf].workflow_instructions_height = nil
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    api.nvim_set_option_value('winbar', '', { win = win, scope = 'local' })
  end
end

--- Show step `o` (from the Python side) in the current window.
function M.open_step(o, cfg)
  local ok, err = pcall(vim.cmd, 'keepalt edit ' .. vim.fn.fnameescape(o.path))
  if not ok then
    notify(('cannot open step %s: %s'):format(o.path, tostring(err):gsub('^Vim%(%a+%):', '')), vim.log.levels.ERROR)
    return
  end
  local buf = api.nvim_get_current_buf()
  vim.b[buf].workflow_step = {
    run = o.run,
    id = o.id,
    index = o.index,
    total = o.total,
    title = o.title,
    workflow = o.workflow,
  }
  if vim.bo[buf].filetype ~= o.filetype then
    vim.bo[buf].filetype = o.filetype
  end
  attach(buf, cfg)
  if o.readonly then
    -- Another Neovim has this run: look, but do not write.
    vim.bo[buf].readonly = true
    vim.bo[buf].modifiable = false
  end
  local height = show_instructions(buf, o)
  vim.b[buf].workflow_instructions_height = height
  set_winbar(api.nvim_get_current_win(), buf)
  -- Scroll to the very top so the instructions above line 1 are in view.
  if vim.fn.line('w0') == 1 then
    vim.fn.winrestview({ topline = 1, topfill = height })
  end
end

local function echo(lines)
  local chunks = {}
  for i, line in ipairs(lines) do
    local text, hl = line, nil
    if type(line) == 'table' then
      text, hl = line[1], line[2]
    end
    chunks[#chunks + 1] = { (i == 1 and '[workflow] ' or '') .. text .. (i < #lines and '\n' or ''), hl }
  end
  api.nvim_echo(chunks, true, {})
end

--- Apply a response from the Python side.
function M.apply(response, cfg)
  if response.state ~= nil then
    state.set(response.state)
  end
  if response.stopped then
    for _, buf in ipairs(M.step_buffers(response.stopped)) do
      M.detach(buf)
    end
  end
  for _, path in ipairs(response.removed or {}) do
    -- A revert made this step pending again; its old text is in git history.
    local buf = vim.fn.bufnr('^' .. vim.fn.fnameescape(path) .. '$')
    if buf > 0 then
      M.detach(buf)
      pcall(api.nvim_buf_delete, buf, { force = true })
    end
  end
  if response.open then
    M.open_step(response.open, cfg)
  end
  if response.log then
    require('workflow.log').open(response.log, cfg)
  end
  M.refresh_winbars()
  if response.info then
    echo(response.info)
  end
  if response.error then
    notify(response.error, vim.log.levels.ERROR)
  end
end

-- Nothing typed is lost when Neovim exits, even with :qa!
api.nvim_create_autocmd({ 'VimLeavePre', 'VimSuspend' }, {
  group = group,
  desc = 'workflow.nvim: save step buffers',
  callback = function()
    M.save_all()
  end,
})

return M
