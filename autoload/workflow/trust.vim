vim9script
# The trust prompt (lua/workflow/trust.lua's twin): asked before a workflow
# file's commands run (Response.trust). Python owns the rule and the words;
# this asks with confirm() (or g:WorkflowConfirm), sends the answer, and runs
# the command that asked once more when trusted.

import autoload 'workflow/host.vim'
import autoload 'workflow/view.vim'

const CHOICES = "&Trust\n&Deny\n&View file"

# How the person is asked: confirm(), unless g:WorkflowConfirm (a Funcref
# taking the prompt, the choices and the default) answers instead (tests).
def Confirm(prompt: string, default: number): number
  if exists('g:WorkflowConfirm')
    return call(g:WorkflowConfirm, [prompt, CHOICES, default])
  endif
  return confirm(prompt, CHOICES, default, 'Question')
enddef

# Ask about Response.trust; on Trust or Deny send the answer; on Trust call
# Again (the command that asked) once.
export def Ask(q: dict<any>, cfg: dict<any>, Again: func = null_function)
  while true
    var choice = Confirm(q.prompt, get(q, 'default', 2))
    if choice == 3
      var win = win_getid()
      execute 'sview ' .. fnameescape(expand(q.path))  # read-only; then asked again
      win_gotoid(win)  # what asked goes on where it was: the step's buffer
      redraw
      continue
    endif
    if choice != 1 && choice != 2
      view.Apply({info: [get(q, 'unanswered', 'nothing was trusted or run')]}, cfg)
      return
    endif
    var answer = choice == 1 ? 'allow' : q.deny
    var response = host.Command('trust', [], cfg, {answer: answer, sha256: q.sha256, path: q.path})
    view.Apply(response, cfg)
    if choice == 1 && Again != null_function && !has_key(response, 'error') && !get(q, 'trusted', false)
      Again()
    endif
    return
  endwhile
enddef
