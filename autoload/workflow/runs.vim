vim9script
# :WorkflowRuns: every run under runs_dir in a buffer, newest first, as Python
# wrote the lines (lua/workflow/runs.lua's twin). <CR> opens the run
# (:WorkflowResume), e exports it, l shows its log, q closes.

import autoload 'workflow/config.vim'
import autoload 'workflow/host.vim'
import autoload 'workflow/view.vim'

# [key, action, description]: the maps of the runs buffer.
export const MAPS = [
  ['<CR>', 'open', 'Resume this run, or open it if it is finished'],
  ['e', 'export', 'Export this run as one Markdown document'],
  ['l', 'log', "Show this run's log"],
  ['q', 'close', 'Close the list'],
]

# buffer -> line number (a string) -> the run it shows ({run, dir, line})
var shown: dict<dict<any>> = {}

def ItemUnderCursor(buf: number): dict<any>
  return get(get(shown, buf, {}), string(line('.')), {})
enddef

def Close()
  if winnr('$') > 1
    close
  else
    bwipeout
  endif
enddef

# `sub` of the run under the cursor: Params.run_dir names it (it need not be the run open here).
def OfRun(buf: number, sub: string)
  var item = ItemUnderCursor(buf)
  if empty(item)
    return
  endif
  var cfg: dict<any> = {}
  try
    cfg = config.Options()
  catch
    view.Say([[v:exception, 'error']])
    return
  endtry
  var response = host.Command(sub, [], cfg, {run_dir: item.dir})
  view.Apply(response, cfg)
  if has_key(response, 'log')
    workflow#log#Open(response.log)
  endif
enddef

def Action(buf: number, action: string)
  if action == 'open'
    var item = ItemUnderCursor(buf)
    if !empty(item)
      Close()  # the run opens in the window the list was opened from
      execute 'WorkflowResume ' .. fnameescape(item.run)
    endif
  elseif action == 'close'
    Close()
  else
    OfRun(buf, action)
  endif
enddef

def Forget(buf: number)
  if has_key(shown, buf)
    remove(shown, buf)
  endif
enddef

# :WorkflowRuns: ask Python for the list and show it in the workflow://runs buffer.
export def Open(cfg: dict<any>)
  var response = host.Command('runs', [], cfg)
  var list = get(response, 'runs', {})
  if has_key(response, 'runs')
    remove(response, 'runs')
  endif
  view.Apply(response, cfg)
  if type(list) != v:t_dict || empty(list)
    return
  endif
  var name = 'workflow://runs'
  var buf = bufnr('^' .. name .. '$')
  if buf > 0 && bufwinid(buf) != -1
    win_gotoid(bufwinid(buf))
  elseif buf > 0
    botright split
    execute 'buffer ' .. buf
  else
    botright split
    enew
    setlocal buftype=nofile noswapfile bufhidden=wipe
    execute 'silent keepalt file ' .. fnameescape(name)
    buf = bufnr()
    execute printf('autocmd BufWipeout <buffer=%d> ++once Forget(%d)', buf, buf)
  endif
  setlocal modifiable
  silent deletebufline('%', 1, '$')
  setline(1, list.lines)
  setlocal nomodifiable nomodified
  if &filetype != 'workflowruns'
    &filetype = 'workflowruns'
  endif
  var items: dict<any> = {}
  for item in get(list, 'items', [])
    items[string(item.line)] = item
  endfor
  shown[buf] = items
  cursor(empty(list.items) ? 1 : list.items[0].line, 1)
  for [key, action, desc] in MAPS
    execute printf('nnoremap <buffer> <nowait> <silent> %s <ScriptCmd>Action(%d, %s)<CR>', key, buf, string(action))
  endfor
enddef
