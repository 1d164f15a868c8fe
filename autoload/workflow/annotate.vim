vim9script
# :WorkflowAnnotate: notes from a local model on the current buffer
# (lua/workflow/annotate.lua's twin), shown while the person keeps typing.
# The request runs in a Python thread; its progress arrives as pushes
# (protocol.AnnotationProgress) on the channel's callback, through host.On:
# Vim never waits for the model.
#
# Each note is a sign, its text at the end of the line and an entry of the
# window's location list (:lopen, :lnext), drawn by marks.vim: Vim has no
# diagnostics, this is what they give in Neovim. While the model answers, a
# listener (listener_add) keeps the changes made to the buffer, so that a
# note for line N of the text asked about lands where that line is now
# (Neovim keeps an extmark a line for it; ten thousand signs or properties
# would take Vim a third of a second).

import autoload 'workflow/host.vim'
import autoload 'workflow/marks.vim'
import autoload 'workflow/view.vim'

const PROGRESS = 'workflow_annotate_progress'
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

# The notes: signs in the group workflow_annotate, their text as properties of
# the types workflow_note_{severity}, the location list "workflow notes"
# (marks.vim draws them, as it draws check.vim's problems).
const NOTES = marks.New('workflow_annotate', 'workflow notes', 'workflow_note_')

if empty(prop_type_get(PROGRESS))
  prop_type_add(PROGRESS, {highlight: 'WorkflowAnnotateProgress'})
endif

# buffer -> {request, first, last, listener, changes, model, tokens}
var running: dict<dict<any>> = {}
var next_request = 0
# The request being started: pushes that come before its answer (the channel
# callback runs while Vim waits for it) are kept here and handled after.
var starting: dict<any> = {}

def Notify(msg: string, severity: string = 'info')
  view.Say([[msg, severity]])
enddef

def Valid(buf: number): bool
  return bufexists(buf) && bufloaded(buf)
enddef

# --- Drawing --------------------------------------------------------------

def SetProgress(buf: number, r: dict<any>, text: string)
  if !Valid(buf)
    return
  endif
  prop_remove({type: PROGRESS, bufnr: buf, all: true})
  var line = min([r.first, getbufinfo(buf)[0].linecount])
  prop_add(max([line, 1]), 0, {type: PROGRESS, bufnr: buf, text: text, text_align: 'after'})
enddef

def Finish(buf: number): dict<any>
  var r = get(running, buf, {})
  if has_key(running, buf)
    remove(running, buf)
  endif
  if Valid(buf)
    listener_remove(get(r, 'listener', 0))
    prop_remove({type: PROGRESS, bufnr: buf, all: true})
  endif
  return r
enddef

# Remove the notes from `buf` (0: the current buffer).
export def Clear(buf: number = 0)
  var b = buf == 0 ? bufnr() : buf
  marks.Clear(NOTES, b)
  if Valid(b)
    var vars = getbufvar(b, '')
    if has_key(vars, 'workflow_annotation')
      remove(vars, 'workflow_annotation')
    endif
  endif
enddef

def OnWipe(buf: number)
  if has_key(running, buf)
    remove(running, buf)
    try
      host.Command('annotate_cancel', [], {}, {buf: buf, quiet: true})
    catch
    endtry
  endif
  marks.Forget(NOTES, buf)
enddef

def Watch(buf: number)
  marks.Watch(NOTES, buf)  # notes keep to their lines
  if getbufvar(buf, 'workflow_annotate_watched', false)
    return
  endif
  setbufvar(buf, 'workflow_annotate_watched', true)
  augroup workflow_annotate
  augroup END
  execute printf('autocmd workflow_annotate BufUnload,BufWipeout <buffer=%d> OnWipe(%d)', buf, buf)
enddef

# --- Commands -------------------------------------------------------------

# The entry point of command.vim for the commands that need no run.
export def Run(sub: string, args: list<string>, cfg: dict<any>, line1: number, line2: number, given_range: number)
  if sub == 'annotate'
    Start(args, cfg, line1, line2, given_range)
  elseif sub == 'annotate_cancel'
    Cancel(cfg)
  elseif sub == 'annotate_clear'
    Clear(0)
  else
    Models(cfg)
  endif
enddef

# :WorkflowAnnotate [instruction], over lines line1..line2 of the current buffer.
export def Start(args: list<string>, cfg: dict<any>, line1: number, line2: number, given_range: number)
  var buf = bufnr()
  var first = line1
  var last = line2
  if given_range <= 0
    first = 1
    last = line('$')
  endif
  var lines = getline(first, last)
  next_request += 1
  var request = next_request
  starting = {buf: buf, request: request, queue: []}
  # Which model, where, how long to wait: Python reads them from the options.
  var response = host.Command('annotate', args, cfg, {buf: buf, lines: lines, first_line: first,
    request: request})
  var early = starting.queue
  starting = {}
  if has_key(response, 'error')
    view.Apply(response, cfg)
    return
  endif
  # Where the text goes, before any of it is sent: a workflow's model, another machine.
  var said = get(response, 'info', [])->mapnew((_, l) => [type(l) == v:t_list ? l[0] : l, 'info'])
  Finish(buf)  # Python said if it cancelled one
  # The changes made since: a note for line N lands where that line is now.
  var changes: list<dict<number>> = []
  var listener = listener_add((_, _, _, _, list: list<dict<any>>) => {
    changes->extend(list->mapnew((_, c) => ({lnum: c.lnum, end: c.end, added: c.added})))
  }, buf)
  running[buf] = {request: request, first: first, last: last, listener: listener, changes: changes,
    model: get(get(response, 'annotating', {}), 'model', '?'), tokens: 0}
  view.Say(said)
  Watch(buf)
  SetProgress(buf, running[buf], ' ' .. SPINNER[0] .. ' asking ' .. running[buf].model .. '…')
  for a in early
    Update(a)
  endfor
enddef

def Plural(n: number, word: string): string
  return printf('%d %s%s', n, word, n == 1 ? '' : 's')
enddef

# Where line `line` of the text asked about is now, after `changes` (from
# listener_add) were made: as a Neovim extmark moves, a line added or deleted
# above it moves it, and a deleted line's note goes to the line that takes
# its place.
def Follow(changes: list<dict<number>>, line: number): number
  var n = line
  for c in changes
    if n >= c.end
      n += c.added
    elseif n >= c.lnum
      n = min([n, c.end + c.added])
    endif
  endfor
  return n
enddef

# A batch from the Python side: {buf, request, notes, tokens, done, summary, error, ...}.
export def Update(a: dict<any>)
  var buf = get(a, 'buf', 0)
  if !empty(starting) && starting.buf == buf && starting.request == get(a, 'request', -1)
    starting.queue->add(a)  # before the answer to :WorkflowAnnotate: handled after it
    return
  endif
  var r = get(running, buf, {})
  if empty(r) || r.request != get(a, 'request', -1) || !Valid(buf)
    return  # a cancelled or superseded request, or a closed buffer: nothing to show
  endif
  if get(a, 'replace', false)  # Python says when the notes shown give way to this answer's
    Clear(buf)
  endif
  listener_flush(buf)  # the changes made until now
  var notes = get(a, 'notes', [])
  if !empty(notes)
    marks.Add(NOTES, buf, notes->mapnew((_, n) => ({line: Follow(r.changes, n.line), severity: n.severity,
      note: n.note})))
  endif
  r.tokens = get(a, 'tokens', r.tokens)
  if !get(a, 'done', false)
    SetProgress(buf, r, printf(' %s %s: %s, %s', SPINNER[r.tokens % len(SPINNER)], r.model,
      Plural(r.tokens, 'chunk'), Plural(len(marks.List(NOTES, buf)), 'note')))
    return
  endif
  Finish(buf)
  if get(a, 'cancelled', false)
    return
  endif
  var count = len(marks.List(NOTES, buf))
  var annotation: dict<any> = {model: r.model, notes: count}
  for key in ['summary', 'incomplete', 'covered', 'dropped']
    if has_key(a, key) && type(a[key]) != v:t_none
      annotation[key] = a[key]
    endif
  endfor
  setbufvar(buf, 'workflow_annotation', annotation)
  if get(a, 'error', '') != ''
    # Errors come right after the command: no buffer name, so the line keeps its advice.
    Notify(a.error, 'error')
    return
  endif
  view.Fire('WorkflowAnnotated', extend({buf: buf}, annotation))
  var name = fnamemodify(bufname(buf), ':t')
  var text = (name != '' ? name .. ': ' : '') .. printf('%s: %s%s', r.model, Plural(count, 'note'),
    get(a, 'incomplete', false) ? ' (incomplete)' : '')
  if get(a, 'dropped', 0) > 0
    text ..= printf(' (%d more notes dropped)', a.dropped)
  endif
  if get(a, 'warning', '') != ''
    text ..= ' (' .. a.warning .. ')'
  endif
  if get(a, 'summary', '') != ''
    text ..= ': ' .. a.summary
  endif
  # One line, whatever the model wrote: the whole summary stays in b:workflow_annotation.
  Notify(text)
enddef

# :WorkflowAnnotateCancel
export def Cancel(cfg: dict<any>)
  var buf = bufnr()
  if !has_key(running, buf)
    Notify('no annotation is running in this buffer', 'warning')
    return
  endif
  Finish(buf)
  var response = host.Command('annotate_cancel', [], cfg, {buf: buf, quiet: true})
  if has_key(response, 'error')
    Notify(response.error, 'error')
    return
  endif
  Notify('annotation cancelled')
enddef

# True while an annotation of `buf` (0: the current buffer) is running.
export def Running(buf: number = 0): bool
  if !empty(running) && empty(host.Running())
    # The server stopped: no answer will come (a new server knows no request).
    for b in keys(running)
      Finish(str2nr(b))
    endfor
  endif
  return has_key(running, buf == 0 ? bufnr() : buf)
enddef

# The notes shown in `buf` (0: the current one), for scripts and tests:
# [{line, severity, note}], in line order.
export def Notes(buf: number = 0): list<dict<any>>
  return marks.List(NOTES, buf == 0 ? bufnr() : buf)
enddef

var choosing: dict<any> = {}

def Chosen(id: number, result: number)
  var response = choosing
  choosing = {}
  if result < 1 || result > len(response.models)
    return
  endif
  var choice = response.models[result - 1]
  redraw  # the list is gone before the message: no hit-enter prompt
  if !exists('g:workflow') || type(g:workflow) != v:t_dict
    g:workflow = {}
  endif
  g:workflow.model = choice
  var remote = get(response, 'remote', {})
  if has_key(remote, choice) && !get(response, 'allow_remote', false)
    # Choosing a model is not consent to send text off this machine.
    Notify(printf('annotations now use %s, which runs on %s: set g:workflow.allow_remote', choice, remote[choice]))
  else
    Notify('annotations now use ' .. choice)
  endif
enddef

# :WorkflowModels: the server's models; choose one for g:workflow.model.
export def Models(cfg: dict<any>)
  var response = host.Command('models', [], cfg)
  if has_key(response, 'error')
    Notify(response.error, 'error')
    return
  endif
  if empty(get(response, 'models', []))
    view.Apply(response, cfg)  # what to pull
    return
  endif
  var remote = get(response, 'remote', {})
  choosing = response
  popup_menu(response.models->mapnew((_, m) => has_key(remote, m) ? printf('%s (runs on %s)', m, remote[m]) : m), {
    title: printf(' Model for :WorkflowAnnotate (now %s) ', get(response, 'model', '?')),
    callback: Chosen,
  })
enddef

host.On('annotation', Update)

# The server stopped (it crashed, or was killed): no more batches will come,
# and a new server knows no request. Stop waiting, keep the notes shown, and
# say so once.
def Stopped(why: string)
  if empty(running)
    return
  endif
  for b in keys(running)
    Finish(str2nr(b))
  endfor
  Notify(printf('the Python server stopped (%s): annotation ended; run it again', why), 'warning')
enddef
host.On('stopped', Stopped)
