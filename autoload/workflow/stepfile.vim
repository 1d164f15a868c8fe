vim9script
# Writing step files (lua/workflow/stepfile.lua's twin). A step file is never
# written in place: the whole text goes to a temporary file beside it (or in
# the run's git directory), is synced to disk, then renamed over it, so a full
# disk or a crash mid-write leaves the last good copy whole. Every write of a
# step buffer comes here: the person's :w, :wa, :x, :update through a
# buffer-local BufWriteCmd, and the plugin's own saves through Write. Step
# files are UTF-8 with unix line ends, whatever 'fileencoding' and
# 'fileformat' say. A file changed on disk since it was read or written is
# never overwritten without :w!.

const DISK_FULL = 'the disk is full: free some space; your text is still in the buffer'

# The temporary file a write of `path` goes through: in `scratch` when the
# Python side named one (where `git status` never looks), else hidden beside
# the file; named after this process, as the Python side names its own.
export def TempName(path: string, scratch: string): string
  var nonce = printf('%08x', rand() % 0x7fffffff)
  if scratch != ''
    return printf('%s/%d.%s.workflow-tmp', scratch, getpid(), nonce)
  endif
  return printf('%s/.%s.%d.%s.workflow-tmp', fnamemodify(path, ':h'), fnamemodify(path, ':t'), getpid(), nonce)
enddef

# The bytes in `buf` (wordcount() counts only the current buffer's).
def Bytes(buf: number): number
  if bufnr() == buf
    return wordcount().bytes
  endif
  var win = bufwinid(buf)
  if win == -1
    return -1  # not known: the line is written with its end
  endif
  var bytes = -1
  win_execute(win, 'g:workflow_bytes = wordcount().bytes')
  bytes = g:workflow_bytes
  unlet g:workflow_bytes
  return bytes
enddef

# The lines of `buf` as they go to the file, and whether the last one ends
# with a newline ('endofline', 'fixendofline' and 'binary' decide).
def Content(buf: number): list<any>
  var lines = getbufline(buf, 1, '$')
  if lines == [''] && Bytes(buf) == 0
    return [[], false]  # "--No lines in buffer--": 0 bytes, as Vim's own :write
  endif
  var eol = !!getbufvar(buf, '&endofline')
    || (!!getbufvar(buf, '&fixendofline') && !getbufvar(buf, '&binary'))
  return [lines, eol]
enddef

# Replace the file at `path` with `lines`: readers, and the disk after a
# crash, see the old text or the new one, never a part. '' or why not.
export def WriteAtomic(path: string, lines: list<string>, eol: bool, scratch: string): string
  var target = resolve(path)  # replace the file, keep a link
  var perm = getfperm(target)
  var tmp = TempName(target, scratch)
  var ok = false
  try
    ok = writefile(lines, tmp, 's' .. (eol ? '' : 'b')) == 0
  catch
    delete(tmp)
    # writefile() gives no errno: E80 is a write that failed after the file was made, which on a
    # file this small means no space left (or no quota), as Neovim's ENOSPC and EDQUOT do.
    return v:exception =~ 'E80:\|E514\|ENOSPC\|No space' ? DISK_FULL : substitute(v:exception, '^Vim(\a\+):', '', '')
  endtry
  if !ok
    delete(tmp)
    return 'not written'
  endif
  if perm != ''
    setfperm(tmp, perm)  # the step file keeps its permissions
  endif
  if rename(tmp, target) != 0
    delete(tmp)
    return 'could not rename the new copy over it'
  endif
  return ''
enddef

# One line for a failed write of `path`.
def Failure(path: string, why: string): string
  if why == DISK_FULL
    return why
  endif
  return printf('could not save %s (%s): your text is still in the buffer', fnamemodify(path, ':t'), why)
enddef

# Write step buffer `buf` to its file as :write does (BufWritePre and
# BufWritePost, 'modified'), without a message: {ok, message, changed}.
export def Write(buf: number, force: bool = false): dict<any>
  var name = fnamemodify(bufname(buf), ':p')
  var disk = getftime(name)
  var known = getbufvar(buf, 'workflow_ftime', -1)
  if !force && disk != -1 && known != -1 && disk != known
    # Changed outside Vim since we read or wrote it: never overwrite silently.
    return {ok: false, changed: true,
      message: printf('%s changed on disk: :w! keeps your text, :e! takes the file', fnamemodify(name, ':t'))}
  endif
  if exists('#BufWritePre')
    execute 'doautocmd <nomodeline> BufWritePre ' .. fnameescape(name)
  endif
  var [lines, eol] = Content(buf)
  var why = WriteAtomic(name, lines, eol, getbufvar(buf, 'workflow_scratch', ''))
  if why != ''
    return {ok: false, message: Failure(name, why)}
  endif
  setbufvar(buf, '&modified', 0)
  setbufvar(buf, 'workflow_ftime', getftime(name))
  if getbufvar(buf, '&undofile') && bufnr() == buf && undotree().seq_last > 0
    # What 'undofile' makes Vim's own :write do (for the buffer being edited).
    try
      execute 'silent wundo ' .. fnameescape(undofile(name))
    catch
    endtry
  endif
  if exists('#BufWritePost')
    execute 'doautocmd <nomodeline> BufWritePost ' .. fnameescape(name)
  endif
  return {ok: true}
enddef

# The person's :w, :wa, :x, :update of a step buffer.
def OnWrite()
  var buf = str2nr(expand('<abuf>'))
  var target = fnamemodify(expand('<afile>'), ':p')
  var name = fnamemodify(bufname(buf), ':p')
  var force = v:cmdbang == 1
  if target != name
    # Another file (:w other.txt): written by Vim itself, as anywhere else.
    try
      execute 'keepalt write' .. (force ? '!' : '') .. ' ' .. fnameescape(target)
    catch
      echohl ErrorMsg | echomsg '[workflow] ' .. matchstr(v:exception, 'E\d\+:.*') | echohl None
    endtry
    return
  endif
  var result = Write(buf, force)
  if !result.ok
    # Not an error: inside an autocommand that comes with a prompt. The buffer
    # stays 'modified', so :wq does not quit.
    echohl ErrorMsg | echomsg '[workflow] ' .. result.message | echohl None
    return
  endif
  setbufvar(buf, 'workflow_save_error', false)
  if &shortmess !~ 'W'
    echomsg printf('"%s" %dL written', fnamemodify(name, ':~:.'), getbufinfo(buf)[0].linecount)
  endif
enddef

# Whether process `pid` runs (where /proc tells; elsewhere it is taken as running).
def Running(pid: number): bool
  return pid != getpid() && (!isdirectory('/proc/self') || isdirectory('/proc/' .. pid))
enddef

# Remove the temporary files left by writers killed mid-write, beside `path`
# and in `scratch` (those beside it would show in `git status`).
export def RemoveStale(path: string, scratch: string)
  var found = glob(fnamemodify(path, ':h') .. '/.' .. fnamemodify(path, ':t') .. '.*.workflow-tmp', true, true)
  if scratch != ''
    found += glob(scratch .. '/*.workflow-tmp', true, true)
  endif
  for file in found
    var pid = str2nr(matchstr(fnamemodify(file, ':t'), '\(^\|\.\)\zs\d\+\ze\.\x\+\.workflow-tmp$'))
    if pid > 0 && !Running(pid)
      delete(file)
    endif
  endfor
enddef

# Make every write of `buf` replace its file whole, and never let a modeline
# in its text set options (step text comes from templates). The autocommands
# are in `group`, cleared on detach.
export def Attach(buf: number, group: string)
  setbufvar(buf, '&modeline', 0)
  RemoveStale(fnamemodify(bufname(buf), ':p'), getbufvar(buf, 'workflow_scratch', ''))
  execute printf('autocmd %s BufWriteCmd <buffer=%d> OnWrite()', group, buf)
  execute printf('autocmd %s BufReadPre <buffer=%d> setlocal nomodeline', group, buf)
  for [option, value] in items({fileencoding: 'utf-8', fileformat: 'unix'})
    if getbufvar(buf, '&' .. option) != value && getbufvar(buf, '&modifiable')
      setbufvar(buf, '&' .. option, value)
    endif
  endfor
  if getbufvar(buf, '&bomb') && getbufvar(buf, '&modifiable')
    setbufvar(buf, '&bomb', 0)
  endif
enddef
