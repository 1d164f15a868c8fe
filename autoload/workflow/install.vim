vim9script
# :WorkflowInstall in Vim (lua/workflow/install.lua's twin): the plugin's own
# Python environment, made in the background by
# `python3 -m workflow_nvim install --venv DIR --json-progress`; its progress
# is shown as it comes, one line at the end, and the next command chooses its
# Python again (host.Forget).

import autoload 'workflow/host.vim'
import autoload 'workflow/view.vim'

var running = false
var final: dict<any> = {}
var stderr: list<string> = []

def Show(text: string)
  view.Say([[text, 'info']])
enddef

def OnOut(_: channel, line: string)
  var msg: any
  try
    msg = json_decode(line)
  catch
    return
  endtry
  if type(msg) != v:t_dict
    return
  endif
  if has_key(msg, 'progress')
    Show(msg.progress)
  elseif has_key(msg, 'ok')
    final = msg
  endif
enddef

def OnExit(_: job, code: number)
  running = false
  host.Forget()  # whatever happened, the next command chooses its Python again
  if get(final, 'ok', false)
    if !empty(get(get(g:, 'workflow', {}), 'python', ''))
      Show('ready, but g:workflow.python is set and used instead')
    else
      Show(get(final, 'message', 'ready'))
    endif
  elseif !empty(final)
    view.Say([[get(final, 'error', 'the installer failed'), 'error']])
  else
    view.Say([[printf('the installer failed: %s', empty(stderr) ? 'exit code ' .. code : trim(stderr[-1])), 'error']])
  endif
enddef

# Whether an install is running now.
export def Running(): bool
  return running
enddef

export def Run()
  if host.OWN_PYTHON != ''
    Show('nothing to install: this build of the plugin has its own Python')
    return
  endif
  if running
    view.Say([[':WorkflowInstall is already running: wait for it', 'warning']])
    return
  endif
  var python = exepath('python3')
  if python == ''
    view.Say([['no python3 on PATH: install Python 3.9 or newer, then :WorkflowInstall', 'error']])
    return
  endif
  final = {}
  stderr = []
  Show('installing with ' .. fnamemodify(python, ':~'))
  var job = job_start([python, '-m', 'workflow_nvim', 'install', '--venv', host.Venv(), '--json-progress'], {
    out_mode: 'nl',
    out_cb: OnOut,
    err_mode: 'nl',
    err_cb: (_, line) => {
      stderr->add(line)
    },
    exit_cb: OnExit,
    env: {PYTHONPATH: host.PACKAGE_DIR},
  })
  running = job_status(job) != 'fail'
  if !running
    view.Say([[printf('cannot run %s', python), 'error']])
  endif
enddef
