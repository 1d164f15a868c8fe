vim9script
# The current run as the Python side last described it. WorkflowState() reads
# this copy, so statuslines never wait on (or start) the Python server.

var current: dict<any> = {}

# `state` from a Response: a dict, or v:null (no run).
export def Set(state: any)
  current = type(state) == v:t_dict ? state : {}
enddef

# The current run: {workflow, title, run, dir, step, total, finished,
# steps: [{id, title, done, file}, ...]}, or an empty dict.
export def Get(): dict<any>
  return deepcopy(current)
enddef

# The dict itself, for the plugin's own use (do not modify).
export def Peek(): dict<any>
  return current
enddef

# A short text for a statusline: "blog-post 2/6" (with " ✓" when finished),
# or "" when no run. Cheap: it never starts Python.
export def Statusline(): string
  if empty(current)
    return ''
  endif
  return printf('%s %d/%d%s', current.workflow, current.step, current.total, get(current, 'finished') ? ' ✓' : '')
enddef
