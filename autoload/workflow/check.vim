vim9script
# Live diagnostics for people writing workflow files (lua/workflow/check.lua's
# twin): the problems Python finds in a buffer's text (errors and warnings,
# located), drawn by marks.vim as signs in the group workflow_check, their
# text at the end of the line, and the window's location list titled
# "workflow check". A buffer is live when it is a workflow file in a search
# directory (decided here, without starting Python: opening any other YAML
# costs nothing), or once the person ran :WorkflowCheck in it. Its text is
# checked on open, on save and after a pause in typing, one request in flight
# at a time; the server answers at once and pushes the problems from a thread
# (protocol.Diagnostics), which arrive through host.On('diagnostics').

import autoload 'workflow/config.vim'
import autoload 'workflow/host.vim'
import autoload 'workflow/marks.vim'
import autoload 'workflow/places.vim'
import autoload 'workflow/view.vim'

# How long typing must pause before the text is checked again, in ms.
export const DEBOUNCE = 400
# A request whose push never came (the server died or was busy) stops holding
# the next one back after this long, in ms.
const FLIGHT = 5000

const CHECKS = marks.New('workflow_check', 'workflow check', 'workflow_check_')

# buffer -> {timer, flight (b:changedtick of the request whose push has not
# come, -1: none), sent (reltime()), again (the text changed meanwhile),
# shown (the tick of the problems shown, -1: none), failed (the last check
# could not be made: typing does not try again, saving does)}
var live: dict<dict<any>> = {}
var said: dict<bool> = {}  # errors of live checks, said once each

# A directory as it is compared: absolute, simplified, links resolved.
def DirKey(dir: string): string
  return resolve(simplify(fnamemodify(dir, ':p')))->substitute('\v(.)/+$', '\1', '')
enddef

# Whether `path` is a workflow file in a search directory (catalog.py's
# default_dirs, without the bundled ones): a *.yaml or *.yml in a directory
# named .workflows, in the person's own workflows directory (and Neovim's
# older one), or in one of g:workflow.paths. Starts no Python.
export def Qualifies(path: string, cfg: dict<any> = {}): bool
  if path !~ '\.ya\?ml$' || path =~ '^\a[[:alnum:]+.-]*://'
    return false
  endif
  var dir = fnamemodify(simplify(fnamemodify(path, ':p')), ':h')
  var real = DirKey(dir)
  if fnamemodify(dir, ':t') == '.workflows' || fnamemodify(real, ':t') == '.workflows'
    return true
  endif
  var dirs = [places.Get().workflows, places.NeovimConfig() .. '/workflows']
  for p in get(cfg, 'paths', [])
    if type(p) == v:t_string && p != ''
      dirs->add(expand(p))  # ~ and $VAR, relative to the working directory, as options.py
    endif
  endfor
  return dirs->indexof((_, d) => DirKey(d) ==# real) >= 0
enddef

def Options(): dict<any>
  try
    return config.Options()
  catch
    return {}
  endtry
enddef

# g:workflow.check_live: false only when the person said so.
def LiveWanted(cfg: dict<any>): bool
  return get(cfg, 'check_live', true) != false
enddef

# Draw `d` (protocol.Diagnostics) in its buffer, unless older than what is
# shown.
def Draw(d: dict<any>)
  var buf = get(d, 'buf', 0)
  if type(buf) != v:t_number || !bufexists(buf) || !bufloaded(buf)
    return
  endif
  var tick = get(d, 'tick', 0)
  var st = get(live, buf, {})
  if !empty(st)
    if st.flight >= 0 && tick >= st.flight
      st.flight = -1
    endif
    if tick < st.shown
      return  # an older text's problems: newer ones are shown
    endif
    st.shown = tick
  endif
  var items = get(d, 'items', [])
  marks.Replace(CHECKS, buf, items->mapnew((_, i) => ({
    line: get(i, 'line', 1),
    col: get(i, 'col', 1),
    severity: get(i, 'severity', '') == 'warning' ? 'warning' : 'error',
    note: get(i, 'message', ''),
  })))
  marks.Watch(CHECKS, buf)
  setbufvar(buf, 'workflow_check', {tick: tick, summary: get(d, 'summary', ''), count: len(items)})
enddef

# The parameters of a check of `buf`'s text.
def Params(buf: number, live_request: bool): dict<any>
  var name = bufname(buf)
  var p: dict<any> = {
    buf: buf,
    lines: getbufline(buf, 1, '$'),
    path: name == '' ? '' : fnamemodify(name, ':p'),
    tick: getbufvar(buf, 'changedtick'),
  }
  if live_request
    p.live = true
  endif
  return p
enddef

# Check `buf`'s text now, in the background (its problems come as a push).
# One request is in flight per buffer: a change made meanwhile is checked
# when its push has come.
export def Refresh(buf: number)
  var st = get(live, buf, {})
  if empty(st) || !bufloaded(buf)
    return
  endif
  if st.flight >= 0 && reltimefloat(reltime(st.sent)) * 1000 < FLIGHT
    st.again = true
    return
  endif
  var cfg: dict<any>
  try
    cfg = config.Options()
  catch
    return  # said at the person's next command
  endtry
  var p = Params(buf, true)
  st.flight = p.tick
  st.sent = reltime()
  st.again = false
  # The server answers at once; the push may come before this returns.
  var response = host.Command('check', [], cfg, p)
  if has_key(response, 'error')
    # No Python to ask, or it refused: not again at every pause in typing,
    # only at the next save.
    st.flight = -1
    st.failed = true
    if !has_key(said, response.error)
      said[response.error] = true
      view.Say([['live check: ' .. response.error, 'warning']])
    endif
    return
  endif
  # A live check says nothing; anything here is news (a server that was replaced).
  view.Say(get(response, 'info', [])->mapnew((_, l) => [type(l) == v:t_list ? l[0] : l, 'info']))
enddef

def StopTimer(st: dict<any>)
  if get(st, 'timer', 0) != 0
    timer_stop(st.timer)
    st.timer = 0
  endif
enddef

# Typing: check once it pauses.
def Changed(buf: number)
  var st = get(live, buf, {})
  if empty(st) || st.failed
    return
  endif
  StopTimer(st)
  st.timer = timer_start(DEBOUNCE, (_) => {
    st.timer = 0
    Refresh(buf)
  })
enddef

# `buf` was saved (or read again): check it now, even after a check that
# failed.
export def Save(buf: number)
  if has_key(live, buf)
    live[buf].failed = false
    Refresh(buf)
  endif
enddef

# Stop checking `buf` and remove its problems.
export def Detach(buf: number)
  if has_key(live, buf)
    StopTimer(live[buf])
    remove(live, buf)
  endif
  execute printf('silent! autocmd! workflow_check_live * <buffer=%d>', buf)
  marks.Clear(CHECKS, buf)
  marks.Forget(CHECKS, buf)
  if bufexists(buf)
    var vars = getbufvar(buf, '')
    if has_key(vars, 'workflow_check')
      remove(vars, 'workflow_check')
    endif
  endif
enddef

# Make `buf` live: checked on save and after a pause in typing, until it is
# wiped. False when it was live already.
export def Attach(buf: number): bool
  if has_key(live, buf)
    return false
  endif
  live[buf] = {timer: 0, flight: -1, sent: reltime(), again: false, shown: -1, failed: false}
  augroup workflow_check_live
  augroup END
  execute printf('autocmd workflow_check_live TextChanged,TextChangedI <buffer=%d> Changed(%d)', buf, buf)
  execute printf('autocmd workflow_check_live BufWritePost <buffer=%d> Save(%d)', buf, buf)
  execute printf('autocmd workflow_check_live BufWipeout <buffer=%d> Detach(%d)', buf, buf)
  return true
enddef

# Whether `buf` (0: the current one) is checked as it changes.
export def IsLive(buf: number = 0): bool
  return has_key(live, buf == 0 ? bufnr() : buf)
enddef

# The problems shown in `buf` (0: the current one), for scripts and tests:
# [{line, severity, note}], in line order.
export def Problems(buf: number = 0): list<dict<any>>
  return marks.List(CHECKS, buf == 0 ? bufnr() : buf)
enddef

# A buffer was read or made (plugin/workflow.vim's autocommand for *.yaml,
# *.yml): a workflow file in a search directory becomes live, and is checked
# once Vim has drawn it; one that is live already is checked again.
export def Opened(buf: number)
  if has_key(live, buf)
    timer_start(0, (_) => Save(buf))
    return
  endif
  if getbufvar(buf, '&buftype') != ''
    return
  endif
  var cfg = Options()
  if !LiveWanted(cfg) || !Qualifies(bufname(buf), cfg)
    return
  endif
  Attach(buf)
  timer_start(0, (_) => Refresh(buf))  # the first check may start Python: after the buffer is shown
enddef

# :WorkflowCheck: check the current buffer's text as a workflow file, draw
# its problems and say the summary in one line; the buffer stays live
# (unless g:workflow.check_live is false).
export def Run(cfg: dict<any>)
  var buf = bufnr()
  var step = exists('b:workflow_step')  # a step buffer: the step's checks, on its text
  if step && !view.SaveAll()
    return
  endif
  var p = Params(buf, false)
  var response = host.Command('check', [], cfg, p)
  if type(get(response, 'trust')) == v:t_dict
    # the step's check command is not trusted yet: ask, then check again
    workflow#trust#Ask(response.trust, cfg, () => Run(cfg))
    return
  endif
  if has_key(response, 'diagnostics') && type(response.diagnostics) == v:t_dict
    if LiveWanted(cfg) && !step
      Attach(buf)
    endif
    Draw(extend(copy(response.diagnostics), {buf: buf, tick: get(response.diagnostics, 'tick', p.tick)}))
  endif
  var line: list<string> = []
  if get(response, 'error', '') != ''
    line = [response.error, 'error']
  elseif get(response, 'warning', '') != ''
    line = [response.warning, 'warning']
  elseif !empty(get(response, 'info', []))
    var first = response.info[0]
    line = type(first) == v:t_list ? first : [first, 'info']
  endif
  if !empty(line)
    # One line, whatever its length: the whole summary is in b:workflow_check.
    view.Say([line])
  endif
enddef

# A step's check failures (Response.diagnostics of :WorkflowNext or
# :WorkflowCheck in a step buffer): drawn; no items clear them.
export def Show(d: dict<any>)
  Draw(d)
enddef

# A push of protocol.Diagnostics (host.On('diagnostics')): drawn in a live
# buffer unless older than what it shows.
export def Update(d: dict<any>)
  var buf = get(d, 'buf', 0)
  if !has_key(live, buf)
    return  # a buffer checked no more (wiped, or :WorkflowCheck with live checks off)
  endif
  Draw(d)
  var st = get(live, buf, {})
  if !empty(st) && st.again && st.flight < 0
    Refresh(buf)  # what was typed while this text was being checked
  endif
enddef
host.On('diagnostics', Update)
