vim9script
# Command steps (lua/workflow/steprun.lua's twin): :WorkflowRun, :WorkflowCancel,
# :WorkflowTrust[!]. Python runs the command and decides everything (trust,
# where it runs, what the step file holds, every message); this draws: the
# record's first lines, the output as it is pushed (one change per batch), the
# file once the command ended. The question is asked by trust.vim.

import autoload 'workflow/host.vim'
import autoload 'workflow/trust.vim'
import autoload 'workflow/view.vim'

# The buffers whose command runs. Each is 'nomodifiable' meanwhile: the step
# file is written from the text it had when the command started, so what is
# typed meanwhile would be lost.
var running: dict<bool> = {}

# Change a running command's buffer (unlocked for the change only).
def Change(buf: number, Fn: func)
  setbufvar(buf, '&modifiable', 1)
  Fn()
  setbufvar(buf, '&modified', 0)  # the output is not the person's edit: never saved over the record
  setbufvar(buf, '&modifiable', has_key(running, string(buf)) ? 0 : 1)
enddef

# The command of buf ended, or will never say so (the server stopped).
def Unlock(buf: number)
  if has_key(running, string(buf))
    remove(running, string(buf))
  endif
  if bufloaded(buf)
    setbufvar(buf, '&modifiable', 1)
  endif
enddef

# Whether a command runs in buf (its buffer is locked meanwhile).
export def Running(buf: number): bool
  return has_key(running, string(buf))
enddef

# Response.running: the record's first lines take the place of an earlier record.
def Start(r: dict<any>)
  var buf = r.buf
  if !bufloaded(buf)
    return
  endif
  running[string(buf)] = true
  Change(buf, () => {
    var total = getbufinfo(buf)[0].linecount
    if r.keep < total
      silent deletebufline(buf, r.keep + 1, total)
    endif
    if r.keep == 0 && getbufline(buf, 1) == ['']
      setbufline(buf, 1, r.lines)
    else
      appendbufline(buf, r.keep, r.lines)
    endif
  })
enddef

# :WorkflowRun in the current step buffer.
export def Run(cfg: dict<any>)
  if !view.SaveAll()
    return
  endif
  var buf = bufnr()
  var response = host.Command('run', [], cfg, {buf: buf})
  if type(get(response, 'trust')) == v:t_dict
    trust.Ask(response.trust, cfg, () => Run(cfg))
    return
  endif
  if type(get(response, 'running')) == v:t_dict
    Start(response.running)
  endif
  view.Apply(response, cfg)
enddef

# :WorkflowCancel: a command of this buffer, or its annotation.
export def Cancel(cfg: dict<any>)
  var buf = bufnr()
  if exists('*workflow#annotate#Running') && workflow#annotate#Running(buf)
    workflow#annotate#Cancel(cfg)
    return
  endif
  view.Apply(host.Command('cancel', [], cfg, {buf: buf}), cfg)
enddef

# :WorkflowTrust [file], :WorkflowTrust! [file]
export def Trust(args: list<string>, bang: bool, cfg: dict<any>)
  var name = expand('%:p')
  var extra: dict<any> = {bang: bang}
  if name != ''
    extra.buffer_file = name
  endif
  var response = host.Command('trust', args, cfg, extra)
  if type(get(response, 'trust')) == v:t_dict
    trust.Ask(response.trust, cfg)
    return
  endif
  view.Apply(response, cfg)
enddef

# Output of a step's command, pushed in batches: appended in one change each.
def OnOutput(o: dict<any>)
  var buf = get(o, 'buf', 0)
  var now = has_key(o, 'path') ? view.BufferOf(o.path) : -1
  if now > 0 && now != buf  # the step opened again since: another buffer
    if has_key(running, string(buf))
      remove(running, string(buf))
      running[string(now)] = true
    endif
    buf = now
  endif
  if get(o, 'done', false)
    Unlock(buf)
  endif
  if !bufloaded(buf)
    return
  endif
  if !empty(o.lines)
    Change(buf, () => appendbufline(buf, '$', o.lines))
  endif
  if get(o, 'done', false)
    if get(o, 'reload', false)
      view.ShowFile(buf, o.path)
    endif
    if has_key(o, 'message')
      view.Apply({info: [o.message]}, {})
    endif
  endif
enddef
host.On('output', OnOutput)
# The server stopped: no command of it will end, nor say so.
def Stopped(why: string)
  for buf in keys(running)
    Unlock(str2nr(buf))
  endfor
enddef
host.OnStopped(Stopped)
