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

-- Instructions taller than this share of the window are cut, with a note.
local MAX_INSTRUCTION_SHARE = 0.5
local WINBAR_MARK = '%#WorkflowProgress#'

local notify = require('workflow.message').say

local error_text = require('workflow.message').error_text

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

-- Step files whose commit is being made in the background: git reads them, so the
-- editor does not write them again until the commit's answer arrives (else the
-- commit could take text typed after :WorkflowNext). A save nobody asked for
-- skips such a file, never waiting in an autocommand, and it is saved when the
-- answer arrives (M.apply); path -> true, or 'deferred' once a save was skipped.
M.committing = {}

-- For a save the person asked for: wait for the commit a moment (the server bounds it).
local function wait_for_commit(name)
  local ok, response = pcall(require('workflow.host').call, 'wait', {})
  if ok and response.idle then
    M.committing[name] = nil
    return true
  end
  return false
end

--- The buffer of file `path`, or nil.
---@param path string
---@return integer?
local function buffer_of(path)
  local buf = vim.fn.bufnr('^' .. vim.fn.fnameescape(path) .. '$')
  return buf > 0 and buf or nil
end
M.buffer_of = buffer_of

local function remember_disk_time(buf)
  vim.b[buf].workflow_ftime = vim.fn.getftime(api.nvim_buf_get_name(buf))
end

--- Write a step buffer if it has unsaved changes; false (and a message) on failure.
--- `auto` is true for the saves nobody asked for (leaving, idle): they never
--- prompt nor wait, and say a failure once rather than at every pause; one that
--- finds the step's commit still running is made when the commit's answer arrives.
function M.save(buf, auto)
  if not (api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified) then
    return true
  end
  local name = api.nvim_buf_get_name(buf)
  if M.committing[name] and auto then
    M.committing[name] = 'deferred'
    return false
  end
  if M.committing[name] and not wait_for_commit(name) then
    notify('git is still committing this step (a slow hook?): try again in a moment', vim.log.levels.ERROR)
    return false
  end
  local result = require('workflow.stepfile').write(buf)
  if result.ok then
    vim.b[buf].workflow_save_error = nil
    return true
  end
  if not auto then
    notify(result.message, vim.log.levels.ERROR)
  elseif not vim.b[buf].workflow_save_error then
    -- An automatic save runs in an autocommand, where an error message comes
    -- with "Error detected while processing..." and a prompt: one line instead.
    api.nvim_echo({ { '[workflow] ' .. result.message, result.changed and 'WarningMsg' or 'ErrorMsg' } }, true, {})
  end
  vim.b[buf].workflow_save_error = true
  return false
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

local function winbar_text(buf)
  local step = vim.b[buf].workflow_step
  local text = ('%s %s · Step %d/%d: %s'):format(
    WINBAR_MARK,
    escape_statusline(step.workflow or ''),
    step.index,
    step.total,
    escape_statusline(step.title or '')
  )
  local run = state.peek()
  if run and run.run == step.run and run.steps[step.index] and run.steps[step.index].done then
    text = text .. ' %#WorkflowDone#✓'
  end
  return text
end

--- Give `win` the winbar its buffer needs: progress for a step, and none of
--- ours for any other buffer (Vim restores a buffer's old window options when
--- it is shown again, so a stale one is cleared here).
local function update_winbar(win)
  local buf = api.nvim_win_get_buf(win)
  local current = api.nvim_get_option_value('winbar', { win = win, scope = 'local' })
  if vim.b[buf].workflow_step then
    local text = winbar_text(buf)
    if current ~= text then
      api.nvim_set_option_value('winbar', text, { win = win, scope = 'local' })
    end
  elseif current:sub(1, #WINBAR_MARK) == WINBAR_MARK then
    api.nvim_set_option_value('winbar', '', { win = win, scope = 'local' })
  end
end

--- Redraw the winbar of every window.
function M.refresh_winbars()
  for _, win in ipairs(api.nvim_list_wins()) do
    update_winbar(win)
  end
end

-- Word-wrap `text` to `width` columns (virtual lines do not wrap by themselves). The lines
-- after the first line up under its text: after its leading blanks and list marker, if any.
local function wrap(text, width)
  if vim.fn.strdisplaywidth(text) <= width then
    return { text }
  end
  local lead = text:match('^%s*[-*+]%s+') or text:match('^%s*%d+[.)]%s+') or text:match('^%s*')
  local hang = (' '):rep(math.min(vim.fn.strdisplaywidth(lead), math.floor(width / 2)))
  local out, line, empty = {}, lead, true
  for word in text:sub(#lead + 1):gmatch('%S+') do
    local candidate = empty and (line .. word) or (line .. ' ' .. word)
    if not empty and vim.fn.strdisplaywidth(candidate) > width then
      out[#out + 1] = line
      line = hang .. word
    else
      line = candidate
    end
    empty = false
  end
  out[#out + 1] = line
  return out
end

local function show_instructions(buf, o)
  api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  local win = vim.fn.bufwinid(buf)
  local width = math.max(20, (win ~= -1 and api.nvim_win_get_width(win) or vim.o.columns) - 2)
  local height = win ~= -1 and api.nvim_win_get_height(win) or vim.o.lines
  local body = {}
  for _, line in ipairs(o.instructions) do
    vim.list_extend(body, wrap(line, width))
  end
  local room = math.max(3, math.floor(height * MAX_INSTRUCTION_SHARE) - 2)
  local lines = { { { o.progress, 'WorkflowInstructionsTitle' } } }
  for i, line in ipairs(body) do
    if i > room and #body > room + 1 then
      lines[#lines + 1] = {
        { ('… %d more lines: a taller window shows more'):format(#body - room), 'WorkflowInstructionsTitle' },
      }
      break
    end
    lines[#lines + 1] = { { line, 'WorkflowInstructions' } }
  end
  -- Earlier steps revised since this step's template copied them (:help workflow-stale).
  for _, line in ipairs(o.stale and wrap(o.stale, width) or {}) do
    lines[#lines + 1] = { { line, 'WorkflowStale' } }
  end
  -- The run is finished: how to change it (:help workflow-finish).
  for _, line in ipairs(o.notice and wrap(o.notice, width) or {}) do
    lines[#lines + 1] = { { line, 'WorkflowStale' } }
  end
  lines[#lines + 1] = { { '', 'WorkflowInstructions' } }
  api.nvim_buf_set_extmark(buf, M.ns, 0, 0, {
    virt_lines = lines,
    virt_lines_above = true,
    right_gravity = false,
  })
  vim.b[buf].workflow_instructions = o
  vim.b[buf].workflow_instructions_height = #lines
  return #lines
end

-- Global autocommands, made when the first step opens (nothing at startup).
local global_autocmds = false
local function ensure_global_autocmds()
  if global_autocmds then
    return
  end
  global_autocmds = true
  api.nvim_create_autocmd('BufWinEnter', {
    group = group,
    desc = 'workflow.nvim: winbar of step windows',
    callback = function()
      update_winbar(api.nvim_get_current_win())
    end,
  })
  api.nvim_create_autocmd({ 'VimResized', 'WinResized' }, {
    group = group,
    desc = 'workflow.nvim: rewrap instructions',
    callback = function()
      for _, buf in ipairs(M.step_buffers()) do
        local o = vim.b[buf].workflow_instructions
        if o and vim.fn.bufwinid(buf) ~= -1 then
          show_instructions(buf, o)
        end
      end
    end,
  })
end

local function attach(buf, cfg)
  if vim.b[buf].workflow_attached then
    return
  end
  vim.b[buf].workflow_attached = true
  remember_disk_time(buf)
  require('workflow.stepfile').attach(buf, group)
  api.nvim_create_autocmd({ 'BufLeave', 'FocusLost', 'CursorHold' }, {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: save the step',
    callback = function(ev)
      M.save(ev.buf, true)
    end,
  })
  api.nvim_create_autocmd({ 'BufWritePost', 'BufReadPost', 'FileChangedShellPost' }, {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: remember when the step file was last read or written',
    callback = function(ev)
      vim.b[ev.buf].workflow_save_error = nil
      remember_disk_time(ev.buf)
    end,
  })
  -- Moving onto line 1 (gg, k) scrolls to the top row, which hides the
  -- instructions above it (filler lines): bring them back, once per arrival.
  api.nvim_create_autocmd('CursorMoved', {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: show the instructions at the top',
    callback = function(ev)
      local line = vim.fn.line('.')
      local arrived = line == 1 and vim.w.workflow_last_line ~= 1
      vim.w.workflow_last_line = line
      local height = vim.b[ev.buf].workflow_instructions_height
      if arrived and height and vim.fn.line('w0') == 1 and vim.fn.winsaveview().topfill < height then
        vim.fn.winrestview({ topline = 1, topfill = height })
      end
    end,
  })
  if cfg.default_mappings ~= false then
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
  M.save(buf, true)
  api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  api.nvim_clear_autocmds({ group = group, buffer = buf })
  for _, m in ipairs(M.default_maps) do
    local map = api.nvim_buf_call(buf, function()
      return vim.fn.maparg(m[1], 'n', false, true)
    end)
    if map.buffer == 1 and map.rhs == m[2] then
      pcall(vim.keymap.del, 'n', m[1], { buffer = buf })
    end
  end
  for _, key in ipairs({
    'workflow_step',
    'workflow_attached',
    'workflow_instructions',
    'workflow_instructions_height',
    'workflow_scratch',
  }) do
    vim.b[buf][key] = nil
  end
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    update_winbar(win)
  end
end

-- A window that can show another buffer: the current one, or a new split when
-- the current one cannot switch ('winfixbuf', or a modified buffer with 'nohidden').
local function target_window()
  local win = api.nvim_get_current_win()
  local buf = api.nvim_get_current_buf()
  local stuck = vim.wo[win].winfixbuf
    or (not vim.o.hidden and vim.bo[buf].modified and vim.fn.bufwinid(buf) == win and #vim.fn.win_findbuf(buf) == 1)
  if not stuck then
    return win
  end
  local new = api.nvim_open_win(buf, true, { split = 'below', win = win })
  vim.wo[new].winfixbuf = false
  return new
end

--- Show step `o` (from the Python side) in a window; false if it cannot.
function M.open_step(o, cfg)
  ensure_global_autocmds()
  local ok, err = pcall(function()
    local win = target_window()
    local buf = vim.fn.bufadd(o.path)
    vim.bo[buf].buflisted = true
    -- Before it is loaded: modelines are applied on loading (see stepfile.attach).
    vim.bo[buf].modeline = false
    if api.nvim_win_get_buf(win) ~= buf then
      api.nvim_win_call(win, function()
        vim.cmd('keepalt buffer ' .. buf)
      end)
    end
  end)
  if not ok then
    notify(('cannot open step %s: %s'):format(o.path, error_text(err)), vim.log.levels.ERROR)
    return false
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
  vim.b[buf].workflow_scratch = o.scratch
  if vim.bo[buf].filetype ~= o.filetype then
    vim.bo[buf].filetype = o.filetype
  end
  attach(buf, cfg)
  -- Another editor has this run, or it is finished: look, do not write. The run's other step
  -- buffers follow (a buffer locked for another reason, a running command, is left alone).
  vim.b[buf].workflow_readonly = nil
  for _, other in ipairs(M.step_buffers(o.run)) do
    if other == buf or o.readonly == true or vim.b[other].workflow_readonly then
      vim.bo[other].readonly = o.readonly == true
      vim.bo[other].modifiable = o.readonly ~= true
      vim.b[other].workflow_readonly = o.readonly == true or nil
    end
  end
  if o.running then
    vim.bo[buf].modifiable = false -- its command runs: steprun unlocks it when the command ends
  end
  local height = show_instructions(buf, o)
  update_winbar(api.nvim_get_current_win())
  -- Scroll to the very top so the instructions above line 1 are in view.
  if vim.fn.line('w0') == 1 then
    vim.fn.winrestview({ topline = 1, topfill = height })
  end
  vim.w.workflow_last_line = vim.fn.line('.')
  return true
end

--- :WorkflowRefresh: lines `r.first` to `r.last - 1` (from 0) of the buffer of `r.path` become
--- `r.lines`, one change that `u` undoes.
function M.replace_lines(r)
  local buf = buffer_of(r.path)
  if buf and api.nvim_buf_is_loaded(buf) then
    api.nvim_buf_set_lines(buf, r.first, r.last, false, r.lines)
    M.save(buf, true) -- on disk at once, as the record of the copies already is
  end
end

--- Show what the file `path` holds now in step buffer `buf` (a command step's record, written by
--- Python), unmodified: only lines that differ are replaced, so the instructions above stay.
function M.show_file(buf, path)
  local ok, lines = pcall(vim.fn.readfile, path)
  if not ok or not api.nvim_buf_is_loaded(buf) then
    return
  end
  local have = api.nvim_buf_get_lines(buf, 0, -1, false)
  local first = 0
  while first < #have and first < #lines and have[first + 1] == lines[first + 1] do
    first = first + 1
  end
  if first < #have or first < #lines then
    api.nvim_buf_set_lines(buf, first, -1, false, vim.list_slice(lines, first + 1))
  end
  vim.bo[buf].modified = false
  remember_disk_time(buf)
end

--- :WorkflowRefresh, for a copy the person edited: the earlier step's text now (`c.lines`), in a
--- scratch window beside the current one, both in diff mode.
function M.compare(c)
  local win = api.nvim_get_current_win()
  vim.cmd('rightbelow vnew')
  local buf = api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  api.nvim_buf_set_lines(buf, 0, -1, false, c.lines)
  vim.bo[buf].modifiable = false
  pcall(api.nvim_buf_set_name, buf, 'workflow://' .. c.title)
  vim.cmd('diffthis')
  api.nvim_set_current_win(win) -- back in the step: `do` takes a change from the other side
  vim.cmd('diffthis')
end

-- What a line means (protocol.Severity) -> how it looks.
local HIGHLIGHT = { error = 'ErrorMsg', warning = 'WarningMsg' }

local function echo(lines)
  -- One line: "[workflow] text". Several (a list, a status): the prefix on a line of
  -- its own, so that the rows below stay aligned.
  local chunks = { { #lines > 1 and '[workflow]\n' or '[workflow] ', nil } }
  for i, line in ipairs(lines) do
    local text, severity = line, nil
    if type(line) == 'table' then
      text, severity = line[1], line[2]
    end
    chunks[#chunks + 1] = { text .. (i < #lines and '\n' or ''), HIGHLIGHT[severity] }
  end
  api.nvim_echo(chunks, true, {})
end

--- Apply a response from the Python side.
function M.apply(response, cfg)
  if response.state ~= nil then
    state.set(response.state)
  end
  if response.committing then
    M.committing[response.committing] = true
  end
  if response.committed then
    local deferred = M.committing[response.committed] == 'deferred'
    M.committing[response.committed] = nil
    if deferred and buffer_of(response.committed) then
      M.save(buffer_of(response.committed), true) -- what was typed while git had the file
    end
  end
  if response.stopped then
    for _, buf in ipairs(M.step_buffers(response.stopped)) do
      M.detach(buf)
    end
  end
  for _, path in ipairs(response.removed or {}) do
    -- A revert made this step pending again; its old text is in git history.
    local buf = buffer_of(path)
    if buf then
      M.detach(buf)
      pcall(api.nvim_buf_delete, buf, { force = true })
    end
  end
  if response.refreshed then
    M.replace_lines(response.refreshed)
  end
  if response.open then
    M.open_step(response.open, cfg)
  end
  if response.compare then
    M.compare(response.compare)
  end
  M.refresh_winbars()
  if response.page and response.info then
    require('workflow.message').page(response.page, response.info) -- more than a message shows
  elseif response.info then
    echo(response.info)
  end
  if response.warning then
    notify(response.warning, vim.log.levels.WARN)
  end
  if response.error then
    notify(response.error, vim.log.levels.ERROR)
  end
  for _, event in ipairs(response.events or {}) do
    M.fire(event.name, event.data)
  end
end

--- Trigger `User {name}` with `data` (see :help workflow-events); errors in
--- the person's handlers are theirs, shown but never breaking the plugin.
function M.fire(name, data)
  local ok, err = pcall(api.nvim_exec_autocmds, 'User', { pattern = name, data = data, modeline = false })
  if not ok then
    notify(('a User %s handler failed: %s'):format(name, error_text(err)), vim.log.levels.WARN)
  end
end

-- How long quitting waits for a step commit still running (a slow hook, signing).
local QUIT_WAIT_SECONDS = 1

-- Nothing typed is lost when Neovim exits, even with :qa!
api.nvim_create_autocmd({ 'VimLeavePre', 'VimSuspend' }, {
  group = group,
  desc = 'workflow.nvim: save step buffers',
  callback = function(ev)
    if ev.event == 'VimLeavePre' and (next(M.committing) or state.peek()) and package.loaded['workflow.host'] then
      -- A step commit (or a new run's `git init`) still running dies with Neovim. Wait a moment, no
      -- longer: a commit cut short is made again at the next :WorkflowResume (a journal in the git
      -- directory says what it was), and a run without its repository gets one there.
      pcall(require('workflow.host').call, 'wait', { timeout = QUIT_WAIT_SECONDS })
      for name in pairs(M.committing) do
        M.committing[name] = nil -- that commit ends with Neovim anyway: keep the text on disk
      end
    end
    for _, buf in ipairs(M.step_buffers()) do
      M.save(buf, true)
    end
  end,
})

return M
