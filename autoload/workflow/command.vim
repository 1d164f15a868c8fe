vim9script
# The front door (lua/workflow/command.lua's twin): :Workflow {subcommand} and
# the :WorkflowXxx commands, with completion. Each command saves the step
# buffers, asks the Python side, and hands the answer to workflow/view.vim.

import autoload 'workflow/commands.vim'
import autoload 'workflow/config.vim'
import autoload 'workflow/host.vim'
import autoload 'workflow/view.vim'

# name -> command (autoload/workflow/commands.vim: the table)
var by_name: dict<dict<any>> = {}
var by_command: dict<string> = {}
for c in commands.Get()
  by_name[c.name] = c
  by_command[c.command] = c.name
endfor

def Names(): list<string>
  return keys(by_name)->sort()
enddef

def Fail(msg: string)
  view.Say([[msg, 'error']])
enddef

# doc/tags for a copy of the plugin that no plugin manager ran :helptags on:
# made, or made again after doc/workflow.txt changed, if doc/ is writable.
var helptags_checked = false
def EnsureHelptags()
  if helptags_checked
    return
  endif
  helptags_checked = true
  var doc = host.ROOT .. '/doc'
  var help = getftime(doc .. '/workflow.txt')
  var tags = getftime(doc .. '/tags')
  if help < 0 || (tags >= 0 && tags >= help) || filewritable(doc) != 2
    return
  endif
  try
    execute 'silent helptags ' .. fnameescape(doc)
  catch
  endtry
enddef

# Run subcommand `sub` ('' for :Workflow, whose first argument names it).
export def Run(given: string, fargs: list<string>, line1: number = 0, line2: number = 0, range: number = -1,
    bang: bool = false)
  EnsureHelptags()
  var args = copy(fargs)
  var sub = given
  if sub == ''
    if empty(args)
      Fail(printf('which subcommand? :Workflow {%s}', Names()->join('|')))
      return
    endif
    sub = remove(args, 0)
    if !has_key(by_name, sub)
      Fail(printf("unknown subcommand '%s'%s (try :Workflow <Tab>: %s)",
        sub, config.DidYouMean(sub, Names()), Names()->join(', ')))
      return
    endif
  endif
  var spec = by_name[sub]
  if sub == 'install'
    workflow#install#Run()
    return
  endif
  if sub == 'health'
    workflow#health#Show()  # :checkhealth workflow's checks, drawn in a window
    return
  endif
  if len(args) < spec.fewest || (spec.most >= 0 && len(args) > spec.most)
    var usage = ':' .. spec.command
    if spec.most == 0
      Fail(printf('%s takes no argument', usage))
    else
      Fail(printf('%s takes %s%s (<Tab> completes)', usage, spec.fewest == 0 ? 'at most ' : '', spec.what))
    endif
    return
  endif
  var cfg: dict<any>
  try
    cfg = config.Options()
  catch
    Fail(v:exception)
    return
  endtry
  if sub == 'new'
    New(args, cfg)
    return
  endif
  if sub == 'check'
    workflow#check#Run(cfg)  # the buffer's text as a workflow file
    return
  endif
  if sub == 'run'
    workflow#steprun#Run(cfg)  # command steps
    return
  elseif sub == 'cancel'
    workflow#steprun#Cancel(cfg)
    return
  elseif sub == 'trust'
    workflow#steprun#Trust(args, bang, cfg)
    return
  elseif sub == 'runs'
    workflow#runs#Open(cfg)  # every run, in a buffer of its own
    return
  endif
  if !spec.needs_run && sub != 'export'  # export: saved step buffers first, as below
    # :WorkflowAnnotate and its kin: autoload/workflow/annotate.vim.
    workflow#annotate#Run(sub, args, cfg, line1, line2, range)
    return
  endif
  if (sub == 'next' || sub == 'revert') && exists('*workflow#annotate#Running')
    for buf in view.StepBuffers()
      if workflow#annotate#Running(buf)
        # Its notes would miss the commit, or land in it half-written.
        Fail(printf('the model is still annotating %s: wait for it, or :WorkflowAnnotateCancel there',
          fnamemodify(bufname(buf), ':t')))
        return
      endif
    endfor
  endif
  if !view.SaveAll()
    return
  endif
  if sub == 'resume' && empty(args)
    PickRun(cfg)
    return
  endif
  var response = host.Command(sub, args, cfg, bang ? {bang: true} : {})
  if type(get(response, 'trust')) == v:t_dict
    # a command this would run is not trusted yet: ask, then do it again
    workflow#trust#Ask(response.trust, cfg, () => Run(given, fargs, line1, line2, range, bang))
    return
  endif
  if type(get(response, 'diagnostics')) == v:t_dict  # a step's checks: failures drawn, or cleared
    workflow#check#Show(response.diagnostics)
  endif
  view.Apply(response, cfg)
  if has_key(response, 'log')
    workflow#log#Open(response.log)
  endif
  if type(get(response, 'open')) == v:t_dict && get(response.open, 'autorun', false)
    workflow#steprun#Run(cfg)  # the step says: run its command on first opening
  endif
enddef

# Ask the Python side (see host.Command; kept here for scripts).
export def Call(sub: string, args: list<string>, cfg: dict<any> = {}): dict<any>
  return host.Command(sub, args, cfg)
enddef

# A background commit's outcome, pushed by the server.
def OnCommit(response: dict<any>)
  var cfg: dict<any> = {}
  try
    cfg = config.Options()
  catch
  endtry
  view.Apply(response, cfg)
enddef
host.On('commit', OnCommit)


# :WorkflowNew {name}: Python makes the file from its skeleton and says where;
# with no project here it first offers where the file may go (`choose`), and is
# asked again with the choice.
export def New(args: list<string>, cfg: dict<any>, extra: dict<any> = {})
  var response = host.Command('new', args, cfg, extra)
  var choose = get(response, 'choose', {})
  if !empty(choose)
    popup_menu(choose.choices->mapnew((_, c) => c.label), {
      title: ' ' .. choose.prompt .. ' ',
      callback: (_, i) => {
        if i >= 1 && i <= len(choose.choices)
          New(args, cfg, {where: choose.choices[i - 1].key})
        endif
      },
    })
    return
  endif
  if get(response, 'edit', '') != ''
    try
      if !&hidden && &modified && len(win_findbuf(bufnr())) == 1
        execute 'split ' .. fnameescape(response.edit)
      else
        execute 'edit ' .. fnameescape(response.edit)
      endif
    catch
      response.error = printf('cannot open %s: %s', response.edit, matchstr(v:exception, 'E\d\+:.*'))
    endtry
  endif
  view.Apply(response, cfg)
enddef

var picking: list<dict<any>> = []

def Picked(cfg: dict<any>, id: number, choice: number)
  if choice < 1 || choice > len(picking)
    return
  endif
  var run = picking[choice - 1].run
  picking = []
  view.Apply(host.Command('resume', [run], cfg), cfg)
enddef

# :WorkflowResume without argument: choose among the unfinished runs.
export def PickRun(cfg: dict<any>)
  var response = host.Command('unfinished', [], cfg)
  if has_key(response, 'error')
    view.Apply(response, cfg)
    return
  endif
  var runs = get(response, 'unfinished', [])
  if empty(runs)
    view.Apply(response, cfg)  # says where it looked
    return
  endif
  view.Apply({warning: get(response, 'warning', '')}, cfg)  # run directories it could not read
  picking = runs
  popup_menu(runs->mapnew((_, r) => printf('%s  %s  %d/%d done, next: %s', r.run, r.title, r.done, r.total, r.next)), {
    title: ' Resume which run? ',
    callback: function(Picked, [cfg]),
  })
enddef

# The subcommand a command line is for: '' when it names none (yet).
def SubOf(word: string): string
  if has_key(by_command, word)
    return by_command[word]
  endif
  # An abbreviation Vim accepts (:WorkflowSta for :WorkflowStart)
  var found = keys(by_command)->filter((_, k) => k[: len(word) - 1] ==# word)
  return len(found) == 1 ? by_command[found[0]] : ''
enddef

# Completion of any of our commands (-complete=customlist). The candidates
# come from the Python side, which owns the rules; only command names are
# known here.
export def Complete(arglead: string, cmdline: string, pos: number): list<string>
  var line = cmdline[: pos - 1]
  var words = split(substitute(line, '^[^A-Za-z]*', '', ''), '\s\+', true)
  var command = substitute(get(words, 0, ''), '!$', '', '')
  var sub = ''
  if command ==# 'Workflow'
    if len(words) <= 2
      return Names()->filter((_, n) => n[: len(arglead) - 1] ==# arglead || arglead == '')
    endif
    if len(words) > 3
      return []
    endif
    sub = words[1]
  else
    sub = SubOf(command)
  endif
  if !has_key(by_name, sub) || by_name[sub].complete == ''
    return []
  endif
  var cfg: dict<any>
  try
    cfg = config.Options()
  catch
    return []
  endtry
  return host.Complete(by_name[sub].complete, arglead, cfg, {args: [sub]})
enddef

# A step's check command ended (it ran in the background). Asked by
# :WorkflowNext, passed, and the person still in that buffer with the text it
# checked: :WorkflowNext again, which completes the step (Python remembers the
# pass; nothing runs twice). Otherwise its result is drawn. (Last in this
# file: registering it compiles Run, which needs every function above.)
def Unchanged(c: dict<any>): bool
  var buf = get(c, 'buf', 0)
  return buf > 0 && bufloaded(buf) && bufnr() == buf && getbufvar(buf, 'changedtick') == get(c, 'tick', -1)
enddef

def OnChecked(c: dict<any>)
  if get(c, 'passed', false) && get(c, 'completes', false) && Unchanged(c)
    # Not inside the channel's callback (it may run during another request).
    timer_start(0, (_) => {
      if Unchanged(c)
        Run('next', [])
      endif
    })
    return
  endif
  var r = get(c, 'response', {})
  var buf = get(c, 'buf', 0)
  if type(get(r, 'diagnostics')) == v:t_dict && buf > 0 && bufloaded(buf)
    workflow#check#Show(extend(copy(r.diagnostics), {buf: buf}))
  endif
  OnCommit(r)
enddef
host.On('checked', OnChecked)
