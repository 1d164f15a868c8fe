vim9script
# :WorkflowLog: the run's history in a buffer, one line per commit
# (lua/workflow/log.lua's twin). <CR> shows the step's text at that commit,
# d its diff, q closes.

import autoload 'workflow/config.vim'
import autoload 'workflow/host.vim'
import autoload 'workflow/view.vim'

# [key, action, description]: the maps of the log buffer.
export const MAPS = [
  ['<CR>', 'show', "Open the step's text at this commit"],
  ['d', 'diff', 'Show what this commit changed'],
  ['q', 'close', 'Close the log'],
]

# buffer -> the log it shows
var shown: dict<dict<any>> = {}

# Show a scratch buffer named `name` holding `lines` in a window: the one
# that shows it already, or a new one opened with `split`. Its number.
def Scratch(name: string, lines: list<string>, filetype: string, split: string): number
  var buf = bufnr('^' .. fnameescape(name) .. '$')
  if buf > 0 && bufwinid(buf) != -1
    win_gotoid(bufwinid(buf))
  elseif buf > 0
    execute split
    execute 'buffer ' .. buf
  else
    execute split
    enew
    setlocal buftype=nofile noswapfile
    execute 'silent keepalt file ' .. fnameescape(name)
  endif
  setlocal modifiable
  silent deletebufline('%', 1, '$')
  setline(1, lines)
  setlocal nomodifiable nomodified bufhidden=wipe
  if filetype != '' && &filetype != filetype
    &filetype = filetype
  endif
  return bufnr()
enddef

def EntryUnderCursor(buf: number): list<dict<any>>
  var log = get(shown, buf, {})
  var i = line('.') - 2  # line 1 is the header
  if empty(log) || i < 0 || i >= len(log.entries)
    return []
  endif
  var e = log.entries[i]
  return [e, get(log.steps, e.id, {file: '', filetype: ''})]
enddef

def Show(buf: number, show_diff: bool)
  var found = EntryUnderCursor(buf)
  if empty(found)
    return
  endif
  var [e, step] = found
  # a line of no step (a finish, a reopening) has no text to open: both keys show what it is
  var diff = show_diff || step.file == ''
  var cfg: dict<any> = {}
  try
    cfg = config.Options()
  catch
    view.Say([[v:exception, 'error']])
    return
  endtry
  var file = (diff && e.kind != 'step') ? '' : step.file
  # the log's own run (one :WorkflowRuns listed need not be the run open here)
  var response = host.Command('show', [e.hash, file] + (diff ? ['diff'] : []), cfg, {run_dir: shown[buf].dir})
  if has_key(response, 'error')
    view.Apply(response, cfg)
    return
  endif
  var lines = split(get(response, 'text', ''), "\n", true)
  if !empty(lines) && lines[-1] == ''
    remove(lines, -1)
  endif
  var what = diff ? 'diff' : fnamemodify(step.file, ':t')
  var name = printf('workflow://%s/%s/%s', shown[buf].run, e.short, what)
  Scratch(name, lines, diff ? 'git' : get(step, 'filetype', ''), 'belowright split')
  nnoremap <buffer> <nowait> <silent> q <Cmd>close<CR>
enddef

def Close()
  if winnr('$') > 1
    close
  else
    bwipeout
  endif
enddef

# Show the log response `log` in a buffer of its own: the lines Python wrote, and the maps.
export def Open(log: dict<any>)
  var lines = [log.header .. ' (<CR> text, d diff, q close)']
  for e in log.entries
    lines->add(e.line)
  endfor
  if has_key(log, 'empty')
    lines->add(log.empty)
  endif
  var buf = Scratch('workflow://log/' .. log.run, lines, 'workflowlog', 'botright split')
  if !has_key(shown, buf)
    execute printf('autocmd BufWipeout <buffer=%d> ++once Forget(%d)', buf, buf)
  endif
  shown[buf] = log
  if !empty(log.entries)
    cursor(2, 1)
  endif
  for [key, action, desc] in MAPS
    execute printf('nnoremap <buffer> <nowait> <silent> %s <ScriptCmd>Action(%d, %s)<CR>', key, buf, string(action))
  endfor
enddef

def Forget(buf: number)
  if has_key(shown, buf)
    remove(shown, buf)
  endif
enddef

def Action(buf: number, action: string)
  if action == 'show'
    Show(buf, false)
  elseif action == 'diff'
    Show(buf, true)
  else
    Close()
  endif
enddef
