vim9script
# Drawing what the Python side answers (lua/workflow/view.lua's twin): step
# buffers, their instructions and progress line, messages. Step buffers edit
# the step files themselves, so :w, swap files and undo work as everywhere;
# they are also saved whenever the person leaves them, and when Vim exits, so
# nothing typed is lost.

import autoload 'workflow/host.vim'
import autoload 'workflow/state.vim'
import autoload 'workflow/stepfile.vim'

const GROUP = 'workflow_steps'

# <Plug> map -> default buffer-local key in step buffers
export const DEFAULT_MAPS = [
  ['<LocalLeader>n', '<Plug>(WorkflowNext)'],
  ['<LocalLeader>p', '<Plug>(WorkflowPrev)'],
  ['<LocalLeader>s', '<Plug>(WorkflowStatus)'],
]

# Instructions taller than this share of the window are cut, with a note.
const MAX_INSTRUCTION_SHARE = 0.5
const STATUS_MARK = '%#WorkflowProgress#'
const PROP = 'workflow_instructions'
const PROP_TITLE = 'workflow_instructions_title'
const PROP_STALE = 'workflow_instructions_stale'

if empty(prop_type_get(PROP))
  prop_type_add(PROP, {highlight: 'WorkflowInstructions'})
  prop_type_add(PROP_TITLE, {highlight: 'WorkflowInstructionsTitle'})
  prop_type_add(PROP_STALE, {highlight: 'WorkflowStale'})
endif

# Step files whose commit runs in the background: git reads them, so they are
# not written again until the commit's answer arrives. path -> 'yes', or
# 'deferred' once an automatic save was skipped.
var committing: dict<string> = {}

# Buffers that show a step of a run (all runs when `run` is '').
export def StepBuffers(run: string = ''): list<number>
  var list: list<number> = []
  for info in getbufinfo({bufloaded: 1})
    var step = get(info.variables, 'workflow_step', {})
    if !empty(step) && (run == '' || step.run == run)
      list->add(info.bufnr)
    endif
  endfor
  return list
enddef

# --- Messages -------------------------------------------------------------

# What a line means (protocol.Severity) -> how it looks.
const HIGHLIGHT = {error: 'ErrorMsg', warning: 'WarningMsg', info: 'None'}

# `text` cut to `width` display cells, with "…" where it was cut.
export def Fit(text: string, width: number): string
  var t = substitute(text, '[\r\n]\+', ' ', 'g')
  if strdisplaywidth(t) <= width
    return t
  endif
  var cut = strcharpart(t, 0, max([width - 1, 0]))
  while cut != '' && strdisplaywidth(cut) > width - 1
    cut = strcharpart(cut, 0, strchars(cut) - 1)
  endwhile
  return cut .. '…'
enddef

# Say `lines` ([text, severity] each): as many as the command line holds, each
# cut to its width, so that Vim never waits at a Press-ENTER prompt, and kept
# in :messages; more go to a popup that any key closes, wrapped to its width
# (Vim 9.0 keeps no message in :messages without showing it).
export def Say(lines: list<list<string>>)
  if empty(lines)
    return
  endif
  if len(lines) <= &cmdheight
    redraw  # what an earlier line left in the command line goes: no prompt
    for [text, severity] in lines
      execute 'echohl ' .. get(HIGHLIGHT, severity, 'None')
      echomsg Fit('[workflow] ' .. text, max([v:echospace, 20]))  # beside 'ruler' and 'showcmd'
      echohl None
    endfor
    return
  endif
  popup_create(lines->mapnew((_, l) => l[0]), {
    title: ' workflow ',
    maxwidth: max([20, &columns - 6]),
    wrap: true,  # a window has room: long lines wrap rather than being cut
    border: [],
    padding: [0, 1, 0, 1],
    pos: 'center',
    moved: 'any',
    close: 'click',
    mapping: false,
    filter: (id, key) => {
      popup_close(id)
      return key == "\<Esc>"  # any other key does what it does
    },
  })
enddef

def Notify(text: string, severity: string = 'info')
  Say([[text, severity]])
enddef

# --- Saving ---------------------------------------------------------------

# For a save the person asked for: wait a moment for the commit (the server bounds it).
def WaitForCommit(name: string): bool
  var response = host.Call('wait', {})
  if get(response, 'idle', false)
    if has_key(committing, name)  # the commit's push, handled during the wait, may have removed it
      remove(committing, name)
    endif
    return true
  endif
  return false
enddef

# Write a step buffer if it has unsaved changes; false (and a message) on
# failure. `auto`: a save nobody asked for (leaving, idle, exit): it never
# prompts nor waits, and says a failure once rather than at every pause.
export def Save(buf: number, auto: bool = false): bool
  if !bufloaded(buf) || !getbufvar(buf, '&modified')
    return true
  endif
  var name = fnamemodify(bufname(buf), ':p')
  if has_key(committing, name) && auto
    committing[name] = 'deferred'
    return false
  endif
  if has_key(committing, name) && !WaitForCommit(name)
    Notify('git is still committing this step (a slow hook?): try again in a moment', 'error')
    return false
  endif
  var result = stepfile.Write(buf)
  if result.ok
    setbufvar(buf, 'workflow_save_error', false)
    return true
  endif
  if !auto
    Notify(result.message, 'error')
  elseif !getbufvar(buf, 'workflow_save_error', false)
    Notify(result.message, get(result, 'changed', false) ? 'warning' : 'error')
  endif
  setbufvar(buf, 'workflow_save_error', true)
  return false
enddef

# Save every step buffer; false if one could not be saved.
export def SaveAll(): bool
  var ok = true
  for buf in StepBuffers()
    ok = Save(buf) && ok
  endfor
  return ok
enddef

# --- The progress line ----------------------------------------------------

# Vim 9.0 has no 'winbar' (its WinBar menu holds menu items, not text): the
# progress goes in the step window's own 'statusline' (:help workflow-vim).
def StatusText(buf: number): string
  var step = getbufvar(buf, 'workflow_step')
  var Esc = (s: string) => substitute(s, '%', '%%', 'g')
  var text = printf('%s %s · Step %d/%d: %s', STATUS_MARK, Esc(get(step, 'workflow', '')),
    step.index, step.total, Esc(get(step, 'title', '')))
  var run = state.Peek()
  if get(run, 'run', '') == step.run && len(get(run, 'steps', [])) >= step.index
      && get(run.steps[step.index - 1], 'done', false)
    text ..= ' %#WorkflowDone#✓'
  endif
  return text .. '%#WorkflowProgress#%=%m '
enddef

# Give window `win` the statusline its buffer needs: progress for a step, and
# none of ours for any other buffer.
def UpdateStatus(win: number)
  var buf = winbufnr(win)
  if buf < 0
    return
  endif
  var current = getwinvar(win, '&statusline')
  if !empty(getbufvar(buf, 'workflow_step', {}))
    var text = StatusText(buf)
    if current != text
      setwinvar(win, '&statusline', text)
    endif
  elseif current[: len(STATUS_MARK) - 1] == STATUS_MARK
    setwinvar(win, '&statusline', '')
  endif
enddef

# Redraw the progress line of every window.
export def RefreshStatus()
  for info in getwininfo()
    UpdateStatus(info.winid)
  endfor
enddef

# --- Instructions ---------------------------------------------------------

# Word-wrap `text` to `width` columns (virtual text does not wrap by itself).
# The lines after the first line up under its text: after its leading blanks
# and list marker, if any.
export def Wrap(text: string, width: number): list<string>
  if strdisplaywidth(text) <= width
    return [text]
  endif
  var lead = matchstr(text, '^\s*[-*+]\s\+')
  if lead == ''
    lead = matchstr(text, '^\s*\d\+[.)]\s\+')
  endif
  if lead == ''
    lead = matchstr(text, '^\s*')
  endif
  var hang = repeat(' ', min([strdisplaywidth(lead), width / 2]))
  var out: list<string> = []
  var line = lead
  var empty = true
  for word in split(text[len(lead) :], '\s\+')
    var candidate = empty ? line .. word : line .. ' ' .. word
    if !empty && strdisplaywidth(candidate) > width
      out->add(line)
      line = hang .. word
    else
      line = candidate
    endif
    empty = false
  endfor
  out->add(line)
  return out
enddef

def ShowInstructions(buf: number, o: dict<any>): number
  for type in [PROP, PROP_TITLE, PROP_STALE]
    prop_remove({type: type, bufnr: buf, all: true})
  endfor
  var win = bufwinid(buf)
  var width = max([20, (win != -1 ? winwidth(win) : &columns) - 2])
  var height = win != -1 ? winheight(win) : &lines
  var body: list<string> = []
  for line in get(o, 'instructions', [])
    body->extend(Wrap(line, width))
  endfor
  var room = max([3, float2nr(floor(height * MAX_INSTRUCTION_SHARE)) - 2])
  var lines: list<list<string>> = [[get(o, 'progress', ''), PROP_TITLE]]
  var i = 0
  for line in body
    i += 1
    if i > room && len(body) > room + 1
      lines->add([printf('… %d more lines: a taller window shows more', len(body) - room), PROP_TITLE])
      break
    endif
    lines->add([line, PROP])
  endfor
  # Earlier steps revised since this step's template copied them (:help workflow-stale).
  for line in get(o, 'stale', '') == '' ? [] : Wrap(o.stale, width)
    lines->add([line, PROP_STALE])
  endfor
  # The run is finished: how to change it (:help workflow-finish).
  for line in get(o, 'notice', '') == '' ? [] : Wrap(o.notice, width)
    lines->add([line, PROP_STALE])
  endfor
  lines->add([' ', PROP])  # a blank line between them and the text
  for [text, type] in lines
    prop_add(1, 0, {type: type, bufnr: buf, text: text == '' ? ' ' : text, text_align: 'above'})
  endfor
  setbufvar(buf, 'workflow_instructions', o)
  setbufvar(buf, 'workflow_instructions_height', len(lines))
  return len(lines)
enddef

# Text properties live on their line: deleting line 1 takes the instructions
# with it, and a line opened above it pushes them down. Put them back on top
# after each change in Normal mode, and on leaving Insert mode.
def KeepOnTop(buf: number)
  var o = getbufvar(buf, 'workflow_instructions', {})
  if empty(o)
    return
  endif
  var on_top = len(prop_list(1, {bufnr: buf, types: [PROP_TITLE]}))
  # (an undo brings a deleted line back with its old properties)
  var elsewhere = getbufinfo(buf)[0].linecount > 1 ? prop_list(2, {bufnr: buf, end_lnum: -1, types: [PROP_TITLE]}) : []
  if on_top != 1 || !empty(elsewhere)
    ShowInstructions(buf, o)
  endif
enddef

def Rewrap()
  for buf in StepBuffers()
    var o = getbufvar(buf, 'workflow_instructions', {})
    if !empty(o) && bufwinid(buf) != -1
      ShowInstructions(buf, o)
    endif
  endfor
enddef

# Global autocommands, made when the first step opens (nothing at startup).
var global_autocmds = false
def EnsureGlobalAutocmds()
  if global_autocmds
    return
  endif
  global_autocmds = true
  augroup workflow_steps_global
    autocmd!
    autocmd BufWinEnter * UpdateStatus(win_getid())
    autocmd VimResized * Rewrap()
  augroup END
  if exists('##WinResized')
    autocmd workflow_steps_global WinResized * Rewrap()
  else
    autocmd workflow_steps_global WinScrolled * Rewrap()
  endif
enddef

def RememberDiskTime(buf: number)
  setbufvar(buf, 'workflow_save_error', false)
  setbufvar(buf, 'workflow_ftime', getftime(fnamemodify(bufname(buf), ':p')))
enddef

def Attach(buf: number, cfg: dict<any>)
  if getbufvar(buf, 'workflow_attached', false)
    return
  endif
  setbufvar(buf, 'workflow_attached', true)
  RememberDiskTime(buf)
  execute 'augroup ' .. GROUP | execute 'augroup END'
  stepfile.Attach(buf, GROUP)
  execute printf('autocmd %s BufLeave,FocusLost,CursorHold <buffer=%d> Save(%d, true)', GROUP, buf, buf)
  execute printf('autocmd %s BufWritePost,BufReadPost,FileChangedShellPost <buffer=%d> RememberDiskTime(%d)',
    GROUP, buf, buf)
  execute printf('autocmd %s TextChanged,InsertLeave <buffer=%d> KeepOnTop(%d)', GROUP, buf, buf)
  if get(cfg, 'default_mappings', true)
    for [lhs, rhs] in DEFAULT_MAPS
      if !hasmapto(rhs, 'n')
        win_execute(bufwinid(buf), $'nmap <buffer> {lhs} {rhs}')
      endif
    endfor
  endif
enddef

# Turn a step buffer back into a plain file buffer (after :WorkflowStop).
export def Detach(buf: number)
  if empty(getbufvar(buf, 'workflow_step', {}))
    return
  endif
  Save(buf, true)
  for type in [PROP, PROP_TITLE, PROP_STALE]
    prop_remove({type: type, bufnr: buf, all: true})
  endfor
  execute printf('autocmd! %s * <buffer=%d>', GROUP, buf)
  var win = bufwinid(buf)
  for [lhs, rhs] in DEFAULT_MAPS
    if win == -1
      continue
    endif
    # Ours only: a map the person made there stays.
    win_execute(win, $'g:workflow_maparg = maparg({string(lhs)}, "n", false, true)')
    var m = g:workflow_maparg
    unlet g:workflow_maparg
    if get(m, 'buffer', 0) == 1 && get(m, 'rhs', '') ==# rhs
      win_execute(win, 'silent! nunmap <buffer> ' .. lhs)  # (a | would be part of the lhs)
    endif
  endfor
  var vars = getbufvar(buf, '')
  for key in ['workflow_step', 'workflow_attached', 'workflow_instructions',
      'workflow_instructions_height', 'workflow_scratch']
    if has_key(vars, key)
      remove(vars, key)
    endif
  endfor
  for w in win_findbuf(buf)
    UpdateStatus(w)
  endfor
enddef

# The current window, or a new split when it cannot show another buffer (a
# modified buffer with 'nohidden', shown nowhere else).
def TargetWindow()
  if !&hidden && &modified && len(win_findbuf(bufnr())) == 1
    belowright split
  endif
enddef

# Show step `o` (a protocol.StepOpen) in a window; false if it cannot.
export def OpenStep(o: dict<any>, cfg: dict<any>): bool
  EnsureGlobalAutocmds()
  try
    TargetWindow()
    var b = bufadd(o.path)
    setbufvar(b, '&buflisted', 1)
    setbufvar(b, '&modeline', 0)  # before it is loaded: modelines are applied on loading
    if bufnr() != b
      execute 'keepalt buffer ' .. b
    endif
  catch
    Notify(printf('cannot open step %s: %s', o.path, matchstr(v:exception, 'E\d\+:.*')), 'error')
    return false
  endtry
  var buf = bufnr()
  b:workflow_step = {run: o.run, id: o.id, index: o.index, total: o.total, title: get(o, 'title', ''),
    workflow: get(o, 'workflow', '')}
  b:workflow_scratch = get(o, 'scratch', '')
  if &filetype != get(o, 'filetype', '')
    &filetype = get(o, 'filetype', '')
  endif
  Attach(buf, cfg)
  # Another editor has this run, or it is finished: look, do not write. The run's other step
  # buffers follow (a buffer locked for another reason, a running command, is left alone).
  var readonly = get(o, 'readonly', false)
  b:workflow_readonly = false
  for other in StepBuffers(o.run)
    if other == buf || readonly || getbufvar(other, 'workflow_readonly', false)
      setbufvar(other, '&readonly', readonly)
      setbufvar(other, '&modifiable', !readonly)
      setbufvar(other, 'workflow_readonly', readonly)
    endif
  endfor
  if get(o, 'running', false)
    &modifiable = false  # its command runs: steprun.vim unlocks it when the command ends
  endif
  ShowInstructions(buf, o)
  UpdateStatus(win_getid())
  return true
enddef

# --- Responses ------------------------------------------------------------

# Trigger `User {name}` with `data` in g:workflow_event (:help workflow-events);
# errors in the person's handlers are theirs, shown but never breaking the plugin.
export def Fire(name: string, data: any)
  if !exists('#User#' .. name)
    return
  endif
  g:workflow_event = data
  try
    execute 'doautocmd <nomodeline> User ' .. name
  catch
    Notify(printf('a User %s handler failed: %s', name, v:exception), 'warning')
  endtry
enddef

export def BufferOf(path: string): number
  var b = bufnr('^' .. fnameescape(path) .. '$')
  return b > 0 ? b : -1
enddef

# :WorkflowRefresh: lines r.first to r.last - 1 (from 0) of the buffer of
# r.path become r.lines, one change that `u` undoes.
def ReplaceLines(r: dict<any>)
  var buf = BufferOf(r.path)
  if buf < 0 || !bufloaded(buf)
    return
  endif
  var total = getbufinfo(buf)[0].linecount
  var lines: list<string> = r.lines
  if r.last > r.first
    silent deletebufline(buf, r.first + 1, r.last)
  endif
  if total == r.last - r.first && !empty(lines)
    # the buffer was emptied whole: its one empty line is the first new one
    setbufline(buf, 1, lines[0])
    appendbufline(buf, 1, lines[1 :])
  elseif !empty(lines)
    appendbufline(buf, r.first, lines)
  endif
  Save(buf, true)  # on disk at once, as the record of the copies already is
enddef

# Show what the file `path` holds now in step buffer `buf` (a command step's
# record, written by Python), unmodified: only lines that differ are replaced,
# so the instructions above line 1 stay.
export def ShowFile(buf: number, path: string)
  if !bufloaded(buf) || !filereadable(path)
    return
  endif
  var lines = readfile(path)
  var have = getbufline(buf, 1, '$')
  var first = 0
  while first < len(have) && first < len(lines) && have[first] == lines[first]
    first += 1
  endwhile
  if first < len(have)
    silent deletebufline(buf, first + 1, '$')
  endif
  if first < len(lines)
    if getbufline(buf, 1, '$') == [''] && first == 0
      setbufline(buf, 1, lines)
    else
      appendbufline(buf, first, lines[first :])
    endif
  endif
  setbufvar(buf, '&modified', 0)
  setbufvar(buf, 'workflow_ftime', getftime(fnamemodify(bufname(buf), ':p')))
enddef

# :WorkflowRefresh, for a copy the person edited: the earlier step's text now
# (c.lines), in a scratch window beside the current one, both in diff mode.
def Compare(c: dict<any>)
  var win = win_getid()
  rightbelow vnew
  setlocal buftype=nofile bufhidden=wipe noswapfile
  setline(1, c.lines)
  setlocal nomodifiable
  silent! execute 'file ' .. fnameescape('workflow://' .. c.title)
  diffthis
  win_gotoid(win)  # back in the step: `do` takes a change from the other side
  diffthis
enddef

# Apply a Response from the Python side.
export def Apply(response: dict<any>, cfg: dict<any>)
  if has_key(response, 'state')
    state.Set(response.state)
  endif
  if get(response, 'committing', '') != ''
    committing[response.committing] = 'yes'
  endif
  if get(response, 'committed', '') != ''
    var deferred = get(committing, response.committed, '') == 'deferred'
    if has_key(committing, response.committed)
      remove(committing, response.committed)
    endif
    if deferred && BufferOf(response.committed) > 0
      Save(BufferOf(response.committed), true)  # what was typed while git had the file
    endif
  endif
  if get(response, 'stopped', '') != ''
    for buf in StepBuffers(response.stopped)
      Detach(buf)
    endfor
  endif
  for path in get(response, 'removed', [])
    # A revert made this step pending again; its old text is in git history.
    var buf = BufferOf(path)
    if buf > 0
      Detach(buf)
      execute 'silent! bwipeout! ' .. buf
    endif
  endfor
  if type(get(response, 'refreshed')) == v:t_dict
    ReplaceLines(response.refreshed)
  endif
  if type(get(response, 'open')) == v:t_dict
    OpenStep(response.open, cfg)
  endif
  if type(get(response, 'compare')) == v:t_dict
    Compare(response.compare)
  endif
  RefreshStatus()
  var lines: list<list<string>> = []
  for line in get(response, 'info', [])
    lines->add(type(line) == v:t_list ? [line[0], get(line, 1, 'info')] : [line, 'info'])
  endfor
  if get(response, 'warning', '') != ''
    lines->add([response.warning, 'warning'])
  endif
  if get(response, 'error', '') != ''
    lines->add([response.error, 'error'])
  endif
  Say(lines)
  for event in get(response, 'events', [])
    Fire(event.name, get(event, 'data', {}))
  endfor
enddef

# How long quitting waits for a step commit still running (a slow hook).
const QUIT_WAIT_SECONDS = 1

# Nothing typed is lost when Vim exits, even with :qa!
def OnLeave()
  if (!empty(committing) || !empty(state.Peek())) && !empty(host.Running())
    # A step commit still running dies with Vim: wait a moment, no longer (a
    # commit cut short is made again at the next :WorkflowResume).
    host.Call('wait', {timeout: QUIT_WAIT_SECONDS})
    committing = {}
  endif
  for buf in StepBuffers()
    Save(buf, true)
  endfor
enddef

augroup workflow_steps_leave
  autocmd!
  autocmd VimLeavePre * OnLeave()
augroup END
