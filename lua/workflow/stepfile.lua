-- Writing step files. A step file is never written in place: the whole text
-- goes to a temporary file beside it, is synced to disk, then renamed over
-- it, so a full disk or a crash mid-write leaves the last good copy whole
-- (Neovim's own :write truncates the file first). Every write of a step
-- buffer comes here: the person's :w, :wa, :x, :update through a
-- buffer-local BufWriteCmd, and the plugin's own saves through M.write.
-- Step files are UTF-8 with unix line ends, whatever 'fileencoding' and
-- 'fileformat' say.
local M = {}

local api, uv = vim.api, vim.uv

local group = api.nvim_create_augroup('workflow_stepfile', { clear = true })

-- What went wrong, and what to do, in a few words (the caller names the file).
local DISK_FULL = 'the disk is full: free some space; your text is still in the buffer'

--- The temporary file that a write of `path` by this process goes through:
--- in `scratch` (the run's git directory, where `git status` never looks)
--- when the Python side named one, else hidden beside the file; on the same
--- file system either way (a rename never crosses them), and named after the
--- process as the Python side's scratch.write_atomic names its own, so that
--- one left by a killed editor is told from one being written and removed.
---@param path string
---@param scratch string?
---@return string
function M.temp_name(path, scratch)
  local pid, nonce = uv.os_getpid(), ('%08x'):format(uv.hrtime() % 0x100000000)
  if scratch then
    return ('%s/%d.%s.workflow-tmp'):format(scratch, pid, nonce)
  end
  return ('%s/.%s.%d.%s.workflow-tmp'):format(vim.fs.dirname(path), vim.fs.basename(path), pid, nonce)
end

local function running(pid)
  if pid == uv.os_getpid() then
    return false -- this process writes one file at a time, and removes its temporary file
  end
  local ok, _, name = uv.kill(pid, 0)
  return ok ~= nil or name == 'EPERM'
end

--- Remove the temporary files left by writers killed mid-write, beside
--- `path` and in `scratch` (those beside it would show in `git status`).
---@param path string
---@param scratch string?
function M.remove_stale(path, scratch)
  local places =
    { { vim.fs.dirname(path), '^%.' .. vim.pesc(vim.fs.basename(path)) .. '%.(%d+)%.%x+%.workflow%-tmp$' } }
  if scratch then
    places[2] = { scratch, '^(%d+)%.[^.]+%.workflow%-tmp$' }
  end
  for _, place in ipairs(places) do
    local ok, entries = pcall(vim.fs.dir, place[1])
    if ok then
      for entry, kind in entries do
        local pid = kind == 'file' and entry:match(place[2])
        if pid and not running(tonumber(pid)) then
          uv.fs_unlink(place[1] .. '/' .. entry)
        end
      end
    end
  end
end

local function write_all(fd, text)
  local done = 0
  while done < #text do
    local n, err, name = uv.fs_write(fd, done == 0 and text or text:sub(done + 1), done)
    if not n then
      return nil, err, name
    end
    done = done + n
  end
  return true
end

--- Replace the file at `path` with `text`: readers, and the disk after a
--- crash, see the old text or the new one, never a part.
---@param path string
---@param text string
---@param scratch string? where the temporary file goes (see M.temp_name)
---@return boolean ok
---@return string? errname like "ENOSPC", on failure
---@return string? message on failure
function M.write_atomic(path, text, scratch)
  local link = uv.fs_lstat(path)
  if link and link.type == 'link' then
    path = uv.fs_realpath(path) or path -- replace the file, keep the link
  end
  local old = uv.fs_stat(path)
  local tmp = M.temp_name(path, scratch)
  uv.fs_unlink(tmp)
  local fd, err, name = uv.fs_open(tmp, 'wx', 438) -- 0666, less the umask, as for any new file
  if not fd then
    return false, name, err
  end
  local ok
  ok, err, name = write_all(fd, text)
  if ok and old then
    -- The step file keeps its permissions and owner.
    uv.fs_fchmod(fd, bit.band(old.mode, 4095))
    if old.uid ~= uv.getuid() or old.gid ~= uv.getgid() then
      uv.fs_fchown(fd, old.uid, old.gid)
    end
  end
  if ok then
    ok, err, name = uv.fs_fsync(fd)
  end
  local closed, cerr, cname = uv.fs_close(fd)
  if ok and not closed then
    ok, err, name = nil, cerr, cname
  end
  if ok then
    ok, err, name = uv.fs_rename(tmp, path)
  end
  if not ok then
    uv.fs_unlink(tmp)
    return false, name, err
  end
  return true
end

--- The bytes that lines `first`..`last` of `buf` make in a file, as Neovim's
--- own :write would put them in a UTF-8 file with unix line ends
--- ('endofline', 'fixendofline' and 'binary' decide the last line's end).
---@param buf integer
---@param first integer
---@param last integer
---@return string
function M.text(buf, first, last)
  local lines = api.nvim_buf_get_lines(buf, first - 1, last, true)
  local count = api.nvim_buf_line_count(buf)
  if count == 1 and lines[1] == '' then
    -- One empty line, or no line at all ("--No lines in buffer--"): 0 bytes.
    local bytes = api.nvim_buf_call(buf, function()
      return vim.fn.wordcount().bytes
    end)
    if bytes == 0 then
      return ''
    end
  end
  local bo = vim.bo[buf]
  local eol = last < count or bo.endofline or (bo.fixendofline and not bo.binary)
  return table.concat(lines, '\n') .. (eol and '\n' or '')
end

--- One line for a failed write of `path`.
---@param path string
---@param errname string?
---@param err string?
---@return string
function M.failure(path, errname, err)
  if errname == 'ENOSPC' or errname == 'EDQUOT' then
    return DISK_FULL
  end
  return ('could not save %s (%s): your text is still in the buffer'):format(
    vim.fs.basename(path),
    err or errname or 'unknown error'
  )
end

-- While M.write runs, what the BufWriteCmd handler did: M.write's caller
-- decides what to say (an automatic save says a failure once, not at every
-- pause). Otherwise (the person's own :w) the handler says it.
local outcome = nil

local function doautocmd(event, name)
  vim.cmd(('doautocmd <nomodeline> %s %s'):format(event, vim.fn.fnameescape(name)))
end

local function finish(result)
  if outcome then
    outcome.result = result
  elseif not result.ok then
    -- Not an error message: inside an autocommand that comes with "Error detected
    -- while processing..." and a prompt. The buffer stays 'modified', so the :write
    -- fails all the same (:wq does not quit).
    api.nvim_echo({ { '[workflow] ' .. result.message, 'ErrorMsg' } }, true, {})
  end
end

-- What 'undofile' makes Neovim's own :write do.
local function write_undo(buf, name)
  if vim.fn.undotree(buf).seq_last == 0 then
    return -- nothing to undo
  end
  pcall(api.nvim_buf_call, buf, function()
    vim.cmd('silent wundo ' .. vim.fn.fnameescape(vim.fn.undofile(name)))
  end)
end

-- Undo files to write again once Neovim has marked the undo states as
-- changed (after the BufWriteCmd returns): soon, or as Neovim exits (:wq).
local undo_pending = {}

local function rewrite_undo()
  for buf, name in pairs(undo_pending) do
    undo_pending[buf] = nil
    if api.nvim_buf_is_loaded(buf) and not vim.bo[buf].modified then -- still the text written
      write_undo(buf, name)
    end
  end
end

api.nvim_create_autocmd('VimLeavePre', {
  group = group,
  desc = 'workflow.nvim: write undo files of the last saves',
  callback = rewrite_undo,
})

-- Where the Python side said temporary files for this step go (nil: beside it).
local function scratch_of(buf)
  local dir = vim.b[buf].workflow_scratch
  return type(dir) == 'string' and dir ~= '' and dir or nil
end

-- The step file itself: checked, then replaced whole.
local function write_own(buf, name, whole, first, last, force)
  local disk = vim.fn.getftime(name)
  local known = vim.b[buf].workflow_ftime
  if not force and disk ~= -1 and known and disk ~= known then
    -- Changed outside Neovim since we read or wrote it: never overwrite silently.
    return finish({
      ok = false,
      changed = true,
      message = ('%s changed on disk: :w! keeps your text, :e! takes the file'):format(vim.fs.basename(name)),
    })
  end
  local pre, post = whole and 'BufWritePre' or 'FileWritePre', whole and 'BufWritePost' or 'FileWritePost'
  doautocmd(pre, name)
  if whole then
    last = api.nvim_buf_line_count(buf) -- a BufWritePre (a formatter) may change the lines
  end
  local text = M.text(buf, first, last)
  local ok, errname, err = M.write_atomic(name, text, scratch_of(buf))
  if not ok then
    return finish({ ok = false, message = M.failure(name, errname, err) })
  end
  if whole then
    -- Neovim then marks the older undo states as changed, as after :write.
    vim.bo[buf].modified = false
    if vim.bo[buf].undofile then
      write_undo(buf, name)
      -- Again once Neovim has marked them, which it does after this returns.
      undo_pending[buf] = name
      vim.schedule(rewrite_undo)
    end
  end
  doautocmd(post, name)
  if not vim.o.shortmess:find('W') then
    api.nvim_echo({
      { ('"%s" %dL, %dB written'):format(vim.fn.fnamemodify(name, ':~:.'), last - first + 1, #text) },
    }, true, {})
  end
  finish({ ok = true })
end

-- Another file (:w other.txt): written by Neovim itself, as anywhere else.
local function write_other(target, whole, force)
  local pre, post = whole and 'BufWritePre' or 'FileWritePre', whole and 'BufWritePost' or 'FileWritePost'
  doautocmd(pre, target)
  -- Inside this autocommand the :write below triggers no autocommand, this one included.
  local range, bang = whole and '' or "'[,']", force and '!' or ''
  local ok, err =
    pcall(vim.cmd, ('keepalt %swrite%s%s %s'):format(range, bang, vim.v.cmdarg, vim.fn.fnameescape(target)))
  if not ok then
    return finish({ ok = false, message = require('workflow.message').error_text(err) })
  end
  doautocmd(post, target)
  finish({ ok = true })
end

local function on_write(ev)
  local buf = ev.buf
  local whole = ev.event == 'BufWriteCmd'
  local first, last = 1, api.nvim_buf_line_count(buf)
  if not whole then
    first, last = api.nvim_buf_get_mark(buf, '[')[1], api.nvim_buf_get_mark(buf, ']')[1]
  end
  local force = vim.v.cmdbang == 1
  local name = api.nvim_buf_get_name(buf)
  if vim.fs.normalize(ev.match) == vim.fs.normalize(name) then
    write_own(buf, name, whole, first, last, force)
  else
    write_other(ev.match, whole, force)
  end
end

-- Runs M.write's :write as a nested autocommand: a :write from inside a
-- plain autocommand (BufLeave, VimLeavePre) triggers no BufWriteCmd, and
-- Neovim would write the file in place itself.
api.nvim_create_autocmd('User', {
  group = group,
  pattern = 'WorkflowWriteStep',
  nested = true,
  desc = 'workflow.nvim: write a step buffer (internal)',
  callback = function(ev)
    if not outcome then
      return
    end
    outcome.ran = true
    local ok, err = pcall(api.nvim_buf_call, ev.data.buf, function()
      vim.cmd('silent lockmarks keepalt write')
    end)
    if not ok and not outcome.result then
      -- Refused before the BufWriteCmd ran ('readonly', ...).
      local why = require('workflow.message').error_text(err)
      outcome.result = { ok = false, message = M.failure(api.nvim_buf_get_name(ev.data.buf), nil, why) }
    end
  end,
})

--- Make every write of `buf` replace its file whole, and never let a
--- modeline in its text set options: step text comes from templates, which
--- are not the person's. `group`'s autocommands are cleared on detach.
---@param buf integer
---@param aug integer
function M.attach(buf, aug)
  vim.bo[buf].modeline = false
  M.remove_stale(api.nvim_buf_get_name(buf), scratch_of(buf))
  api.nvim_create_autocmd({ 'BufWriteCmd', 'FileWriteCmd' }, {
    group = aug,
    buffer = buf,
    desc = 'workflow.nvim: replace the step file whole',
    callback = on_write,
  })
  -- Loading the file again (after :bdelete) takes the global options anew.
  api.nvim_create_autocmd('BufReadPre', {
    group = aug,
    buffer = buf,
    desc = 'workflow.nvim: no modelines in step files',
    callback = function(ev)
      vim.bo[ev.buf].modeline = false
    end,
  })
  -- Text is written as UTF-8 with unix line ends: say so.
  for option, value in pairs({ fileencoding = 'utf-8', fileformat = 'unix', bomb = false }) do
    if vim.bo[buf][option] ~= value and vim.bo[buf].modifiable then
      vim.bo[buf][option] = value
    end
  end
end

--- Write step buffer `buf` to its file, as :write does (BufWritePre and
--- BufWritePost, 'modified', undo states, 'undofile'), without a message.
---@param buf integer
---@return {ok: boolean, message: string?, changed: boolean?} changed: the file changed on disk
function M.write(buf)
  outcome = {}
  local ok, err = pcall(api.nvim_exec_autocmds, 'User', {
    group = group,
    pattern = 'WorkflowWriteStep',
    data = { buf = buf },
    modeline = false,
  })
  local done = outcome
  outcome = nil
  if done.result then
    return done.result
  end
  local name = api.nvim_buf_get_name(buf)
  if not ok then
    return { ok = false, message = M.failure(name, nil, require('workflow.message').error_text(err)) }
  elseif done.ran then
    -- BufWriteCmd is in 'eventignore': Neovim wrote the file itself, or failed to.
    return { ok = not vim.bo[buf].modified, message = M.failure(name, nil, 'not written') }
  end
  -- Autocommands are off (:noautocmd, 'eventignore'): a :write now would
  -- write in place, and a write behind Neovim's back would make it warn that
  -- the file changed. The text stays in the buffer for a save without them.
  local why = "%s not saved: autocommands are off (:noautocmd, 'eventignore')"
  return { ok = false, message = why:format(vim.fs.basename(name)) }
end

return M
