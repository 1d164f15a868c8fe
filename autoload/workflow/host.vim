vim9script
# The Python side: the one module that talks to it (lua/workflow/host.lua's
# twin). On first use it starts `python -m workflow_nvim serve --json`, a child
# of this Vim speaking Vim's channel JSON over its stdin and stdout
# (job_start's json mode), and calls it with ch_evalexpr. What the server
# sends later of its own accord (a background commit's outcome, annotation
# progress) arrives on the channel's callback, Receive, and is handed to the
# handler a module above registered with On: the only way up. The contract is
# rplugin/python3/workflow_nvim/protocol.py (:help workflow-protocol).
#
# The interpreter, first that has the required packages: g:workflow.python
# (that one alone when set), the plugin's own environment (places venv, made
# by :WorkflowInstall), the one older Neovim versions made, python3 on PATH.
# The choice is cached in the cache place, so a cold start probes nothing;
# Forget drops it.

import autoload 'workflow/places.vim'
import autoload 'workflow/state.vim'

# Must equal PROTOCOL in protocol.py (a test checks).
export const PROTOCOL = 4

# The plugin's root: the directory holding autoload/, rplugin/, workflows/.
export const ROOT = resolve(expand('<sfile>:p:h:h:h'))
export const PACKAGE_DIR = ROOT .. '/rplugin/python3'

# A Python that has the dependencies, set by a package build (flake.nix): then
# it is the plugin's own environment, in place of the one :WorkflowInstall makes.
export const OWN_PYTHON = ''

# How long a request may take: more than the server's own 20 s deadline for a
# command (a timed-out ch_evalexpr returns '' and the late answer is dropped).
const TIMEOUT = 30000

# {job, channel, python, pid, stderr}; empty when none runs.
var server: dict<any> = {}
var died = ''  # why the last server stopped, said at the next command
var handlers: dict<func> = {}
var passed_over: list<dict<string>> = []

# Register the handler of pushed messages of `kind` ('commit', 'annotation' or
# 'diagnostics'), or of the server's end ('stopped': called with why, e.g.
# "killed by signal 9").
export def On(kind: string, Fn: func)
  handlers[kind] = Fn
enddef

var stopped: list<func> = []

# Also call Fn with why when the server stops (as On('stopped') does, for more
# than one script).
export def OnStopped(Fn: func)
  stopped->add(Fn)
enddef

# The kinds of push that carry their message under their own key; any other
# push is a commit's.
const WRAPPED = ['annotation', 'diagnostics', 'output', 'checked']

# The channel's callback: a protocol.Push (only id-0 messages come here).
def Receive(ch: channel, msg: any)
  if type(msg) != v:t_dict
    return
  endif
  var kind = 'commit'
  for k in WRAPPED
    if has_key(msg, k)
      kind = k
      break
    endif
  endfor
  if has_key(handlers, kind)
    call(handlers[kind], [kind == 'commit' ? msg : msg[kind]])
  endif
enddef

def CacheFile(): string
  return places.Get().python_cache
enddef

# What identifies an interpreter's file: a changed one is probed again.
def Stamp(python: string): string
  var real = resolve(python)
  if getftime(real) < 0
    return ''
  endif
  return printf('%s:%d:%d', real, getftime(real), getfsize(real))
enddef

# The plugin's own environment, made by :WorkflowInstall.
export def Venv(): string
  return places.Get().venv
enddef

# The interpreters to try, in order: [[python, why-this-one], ...].
export def Candidates(cfg: dict<any>): list<list<string>>
  var list: list<list<string>> = []
  if get(cfg, 'python', '') != ''
    # Named by the person: that one or a clear no, never another behind their back.
    return [[expand(cfg.python), 'g:workflow.python']]
  endif
  list->add([OWN_PYTHON != '' ? OWN_PYTHON : Venv() .. '/bin/python', "the plugin's own environment"])
  var old = places.NeovimData() .. '/workflow/venv/bin/python'
  if executable(old)
    list->add([old, "the environment Neovim's :WorkflowInstall made"])
  endif
  var path = exepath('python3')
  if path != ''
    list->add([path, 'python3 on PATH'])
  endif
  return list
enddef

# The cache is shared with Neovim: {"vim": CHOICE, "neovim": CHOICE}, CHOICE
# {candidates, python, origin, stamp} (lua/workflow/host.lua). Each editor
# keeps its own choice, since its candidates differ (g:python3_host_prog is
# Neovim's), and leaves the other's alone.
const EDITOR = 'vim'

def ReadCacheFile(): dict<any>
  try
    var data = json_decode(readfile(CacheFile())->join("\n"))
    return type(data) == v:t_dict ? data : {}
  catch
    return {}
  endtry
enddef

# This editor's choice: {candidates, python, origin, stamp}, or {}.
def ReadCache(): dict<any>
  var entry = get(ReadCacheFile(), EDITOR, {})
  return type(entry) == v:t_dict ? entry : {}
enddef

def WriteCache(entry: dict<any>)
  var file = CacheFile()
  silent! mkdir(fnamemodify(file, ':h'), 'p')
  var data = ReadCacheFile()->filter((k, v) => type(v) == v:t_dict)  # drops an older, flat format
  data[EDITOR] = entry
  var tmp = file .. '.tmp.' .. getpid()
  if writefile([json_encode(data)], tmp) == 0
    rename(tmp, file)
  endif
enddef

# Forget this editor's choice, not the other's.
def DropCache()
  var data = ReadCacheFile()
  if has_key(data, EDITOR)
    remove(data, EDITOR)
    var file = CacheFile()
    var tmp = file .. '.tmp.' .. getpid()
    if writefile([json_encode(data)], tmp) == 0
      rename(tmp, file)
    endif
  endif
enddef

# $PYTHONPATH for every `python -m workflow_nvim ...`: this plugin's package first.
export def Pythonpath(): string
  var pythonpath = PACKAGE_DIR
  if getenv('PYTHONPATH') != v:null && $PYTHONPATH != ''
    pythonpath ..= ':' .. $PYTHONPATH
  endif
  return pythonpath
enddef

# The log of the server's unexpected errors.
export def LogFile(): string
  return places.Get().log
enddef

def ExitText(job: job, code: number): string
  var signal = job_info(job)->get('termsig', '')
  if code < 0 && signal != ''
    return printf('killed by SIG%s', toupper(signal))  # Vim names the signal
  endif
  return code >= 128 ? printf('killed by signal %d', code - 128) : printf('exit code %d', code)
enddef

# Start one server with `python`: {server, why, refused}; server is {} on failure.
def Spawn(python: string): dict<any>
  if !executable(python)
    return {server: {}, why: 'not an executable file'}
  endif
  var s: dict<any> = {python: python, stderr: []}
  var OnStderr = (_, line: string) => {
    if line != ''
      s.stderr->add(line)
      if len(s.stderr) > 20
        s.stderr->remove(0)
      endif
    endif
  }
  var OnExit = (j: job, code: number) => {
    if server is s
      server = {}
      died = ExitText(j, code)
      # No answer will come to what it was doing: the fronts stop waiting.
      if has_key(handlers, 'stopped')
        call(handlers.stopped, [died])
      endif
      for Fn in stopped
        Fn(died)
      endfor
    endif
  }
  silent! mkdir(fnamemodify(LogFile(), ':h'), 'p')
  var job = job_start([python, '-m', 'workflow_nvim', 'serve', '--json', '--log', LogFile()], {
    mode: 'json',
    callback: Receive,
    err_mode: 'nl',
    err_cb: OnStderr,
    exit_cb: OnExit,
    env: {PYTHONPATH: Pythonpath()},
    stoponexit: 'term',
    noblock: true,
  })
  if job_status(job) == 'fail'
    return {server: {}, why: 'could not be started'}
  endif
  s.job = job
  s.channel = job_getchannel(job)
  server = s
  var welcome: any = ''
  try
    welcome = ch_evalexpr(s.channel, {method: 'hello', params: [{
      protocol: PROTOCOL, front: 'vim', version: string(v:version * 10000 + v:versionlong % 10000)}]},
      {timeout: TIMEOUT})
  catch
    welcome = ''
  endtry
  if type(welcome) != v:t_dict
    server = {}
    # It said why on stderr before exiting (a broken install): wait for its last words.
    var start = reltime()
    while job_status(job) == 'run' && reltimefloat(reltime(start)) < 2.0
      sleep 20m
    endwhile
    if job_status(job) == 'run'
      job_stop(job)
    endif
    return {server: {}, why: empty(s.stderr) ? 'it did not answer' : s.stderr[-1]}
  endif
  s.pid = get(welcome, 'pid', 0)
  if get(welcome, 'error', '') != ''
    return {server: s, why: '', refused: welcome.error}
  endif
  if get(welcome, 'problem', '') != ''
    server = {}
    job_stop(job)
    return {server: {}, why: welcome.problem}
  endif
  return {server: s, why: ''}
enddef

# The running server, starting one if needed: {server, error}; server is {}
# and error a one-line message on failure (or set with a server: another
# protocol version).
export def Ensure(cfg: dict<any>): dict<any>
  if !empty(server)
    return {server: server, error: ''}
  endif
  var candidates = Candidates(cfg)
  var keys = candidates->mapnew((_, c) => c[0])
  var cached = ReadCache()
  if !empty(cached) && get(cached, 'candidates', []) == keys
      && get(cached, 'stamp', '') == Stamp(get(cached, 'python', ''))
    var r = Spawn(cached.python)
    if !empty(r.server)
      return {server: r.server, error: get(r, 'refused', '')}
    endif
  endif
  passed_over = []
  for c in candidates
    var r = Spawn(c[0])
    if !empty(r.server)
      WriteCache({candidates: keys, python: c[0], origin: c[1], stamp: Stamp(c[0])})
      return {server: r.server, error: get(r, 'refused', '')}
    endif
    passed_over->add({python: c[0], origin: c[1], why: r.why})
  endfor
  if len(passed_over) == 1
    return {server: {}, error: printf('%s (%s): %s', passed_over[0].python, passed_over[0].origin, passed_over[0].why)}
  endif
  if empty(passed_over)
    return {server: {}, error: 'no python3 on PATH: install Python 3.9 or newer, then run :WorkflowInstall'}
  endif
  return {server: {}, error: 'no Python with the needed packages: run :WorkflowInstall'}
enddef

# The interpreters passed over at the last start, and why.
export def PassedOver(): list<dict<string>>
  return passed_over
enddef

# The running server, if any: {python, pid, job, channel}.
export def Running(): dict<any>
  return server
enddef

# The choice cached at the last start: {python, origin}, or {}.
export def Cached(): dict<any>
  var data = ReadCache()
  return type(get(data, 'python')) == v:t_string
    ? {python: data.python, origin: get(data, 'origin', '?')} : {}
enddef

# Stop the server: the next call starts a new one.
export def Stop()
  if !empty(server)
    var job = server.job
    server = {}
    job_stop(job)
  endif
enddef

# Choose again at the next command (after :WorkflowInstall).
export def Forget()
  DropCache()
  passed_over = []
  Stop()
enddef

# A request to the server: {result} or {error: one line}.
def Request(cfg: dict<any>, method: string, params: list<any>): dict<any>
  var e = Ensure(cfg)
  if empty(e.server)
    return {error: e.error}
  endif
  if e.error != ''  # another protocol version
    return {error: e.error}
  endif
  var s = e.server
  var res: any = ''
  try
    res = ch_evalexpr(s.channel, {method: method, params: params}, {timeout: TIMEOUT})
  catch /E906/
    res = ''
  endtry
  if type(res) != v:t_string || res != ''
    return {result: res}
  endif
  if server isnot s || job_status(s.job) != 'run' || ch_status(s.channel) != 'open'
    # It died under this request: what it did is unknown, so it is not sent again.
    if server is s
      server = {}
    endif
    died = ''
    return {error: printf('the Python server stopped while running this command; your saved text'
      .. ' is safe on disk: run it again (the log: %s)', fnamemodify(LogFile(), ':~'))}
  endif
  return {error: printf('the Python server did not answer in %d s: try again (the log: %s)',
    TIMEOUT / 1000, fnamemodify(LogFile(), ':~'))}
enddef

# Call command `command` of the server with `params`: its Response ({error} on failure).
export def Call(command: string, params: dict<any>, cfg: dict<any> = {}): dict<any>
  var restarted = died
  var r = Request(cfg, 'command', [command, params])
  if has_key(r, 'error')
    return {error: r.error}
  endif
  var res = type(r.result) == v:t_dict ? r.result : {error: 'internal error: the server answered ' .. string(r.result)}
  if get(res, 'restart', false)
    Stop()  # stuck: the next command starts a new server, which reopens the run from git
  endif
  if restarted != '' && !empty(server)
    died = ''
    res.info = [printf('the Python server had stopped (%s); a new one took over (the log: %s)',
      restarted, fnamemodify(LogFile(), ':~'))] + get(res, 'info', [])
  endif
  return res
enddef

# The parameters every request carries: the options, and the run and buffer
# the person is in (protocol.py's Params). The server finds the plugin's
# places itself (places.py), from the environment it inherits from this Vim.
export def Params(cfg: dict<any>): dict<any>
  var current = state.Peek()
  var params: dict<any> = {
    options: cfg,  # Python applies the defaults
    cwd: getcwd(),
    editor_pid: getpid(),
  }
  if exists('b:workflow_step')
    params.buffer_step = b:workflow_step
    # which step buffer, and its text's version (a step's failed checks are drawn there)
    params.buf = bufnr()
    params.tick = b:changedtick
  endif
  if has_key(current, 'dir')
    # lets a restarted server pick the run up again, and lock it for this Vim
    params.run_dir = current.dir
  endif
  return params
enddef

# Ask the Python side to run command `sub` with arguments `args`; `extra`: more parameters.
export def Command(sub: string, args: list<string>, cfg: dict<any>, extra: dict<any> = {}): dict<any>
  var params = Params(cfg)->extend({args: args})->extend(extra)
  return Call(sub, params, cfg)
enddef

# Completion candidates of `kind` for `arglead` (starts the server if needed; [] on failure).
export def Complete(kind: string, arglead: string, cfg: dict<any>, extra: dict<any> = {}): list<string>
  var r = Request(cfg, 'complete', [kind, arglead, Params(cfg)->extend(extra)])
  return type(get(r, 'result')) == v:t_list ? r.result : []
enddef
