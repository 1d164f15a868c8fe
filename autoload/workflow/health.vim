vim9script
# :WorkflowHealth in Vim: the checks of Neovim's :checkhealth workflow
# (lua/workflow/health.lua's twin), in a scratch window, workflow://health.
# What is right or wrong is decided in Python, by `python -m workflow_nvim
# doctor --json` (rplugin/python3/workflow_nvim/doctor.py): this module draws
# its answer, and adds what only the editor knows: its version, the options,
# and which Python host.vim chooses, and why.

import autoload 'workflow/config.vim'
import autoload 'workflow/host.vim'

const NAME = 'workflow://health'
# level -> [the word drawn, its highlight group]
const LEVELS: dict<list<string>> = {
  ok: ['OK', 'WorkflowHealthOk'],
  warning: ['WARNING', 'WorkflowHealthWarning'],
  error: ['ERROR', 'WorkflowHealthError'],
  info: ['', ''],
}

# The report being drawn: [text, highlight group of its first word], a line each.
var out: list<list<string>> = []

def Start(name: string)
  out->add(['', ''])
  out->add(['## ' .. name, 'WorkflowHealthHeading'])
enddef

def Item(level: string, text: string, advice: list<string> = [])
  var [word, group] = get(LEVELS, level, LEVELS.info)
  out->add([word == '' ? '- ' .. text : $'- {word} {text}', group])
  if !empty(advice)
    out->add(['  - ADVICE:', ''])
    for a in advice
      out->add(['    - ' .. a, ''])
    endfor
  endif
enddef

# The doctor's report from `python` (with `params`: the whole report):
# {report} or {error: why not}.
def Doctor(python: string, params: any = v:null): dict<any>
  var errors = tempname()
  var cmd = printf('env PYTHONPATH=%s %s -m workflow_nvim doctor --json --python %s%s 2>%s',
    shellescape(host.Pythonpath()), shellescape(python), shellescape(python),
    type(params) == v:t_dict ? ' --params -' : '', shellescape(errors))
  var stdout = type(params) == v:t_dict ? system(cmd, json_encode(params)) : system(cmd)
  var code = v:shell_error
  var stderr = filereadable(errors) ? readfile(errors) : []
  delete(errors)
  try
    var report = json_decode(stdout)
    if type(report) == v:t_dict && type(get(report, 'sections')) == v:t_list
      return {report: report}
    endif
  catch
  endtry
  var last = stderr->filter((_, l) => trim(l) != '')
  return {error: empty(last) ? printf('exit code %d', code) : trim(last[-1])}
enddef

def CheckVim()
  Start('Vim')
  # v:versionlong is the highest patch included: Debian's 9.0.1378 has some
  # later fixes (2142 among them) and would be called 9.0.2142. The unbroken
  # range of ":version" is the version a person looks up.
  var patches = matchstr(execute('version'), 'Included patches: \d\+-\zs\d\+')
  var text = printf('Vim %d.%d.%s', v:version / 100, v:version % 100,
    empty(patches) ? string(v:versionlong % 10000) : patches)
  if !empty(patches) && str2nr(patches) != v:versionlong % 10000
    text ..= printf(' (and later fixes, up to patch %d)', v:versionlong % 10000)
  endif
  var lacks = ['channel', 'job', 'textprop', 'vim9script', 'popupwin']->filter((_, f) => !has(f))
  if v:version < 900 || !empty(lacks)
    Item('error', text .. (empty(lacks) ? ' is too old' : ' lacks +' .. lacks->join(', +')),
      ['workflow.nvim needs Vim 9.0 or newer with +channel, +job, +textprop and +vim9script'])
  else
    Item('ok', text .. ' with +channel +job +textprop +vim9script')
  endif
enddef

# The interpreters in host.vim's order: the first whose doctor finds the
# required packages is the one a start chooses. Returns it (or, when there is
# none, the first that runs) as [python, origin], or [].
def Choose(cfg: dict<any>): list<string>
  Start('Python')
  var chosen: list<string> = []
  var fallback: list<string> = []
  for [python, origin] in host.Candidates(cfg)
    var why = ''
    if !executable(python)
      why = 'not an executable file'
    else
      var d = Doctor(python)
      if has_key(d, 'report') && empty(d.report.required_missing)
        chosen = [python, origin]
        break
      endif
      if empty(fallback)
        fallback = [python, origin]
      endif
      why = has_key(d, 'error') ? d.error : 'missing Python packages ' .. d.report.required_missing->join(', ')
    endif
    Item('info', printf('passed over %s (%s): %s', python, origin, why))
  endfor
  if !empty(chosen)
    Item('ok', printf('chosen: %s (%s)', chosen[0], chosen[1]))
  else
    Item('error', 'no Python with the packages workflow.nvim needs', [
      "run :WorkflowInstall: it makes the plugin's own environment, " .. host.Venv(),
      'or set g:workflow.python to a Python that has them: see :help workflow-python'])
  endif
  var cached = host.Cached()
  if !empty(cached) && (empty(chosen) || cached.python != chosen[0])
    Item('info', printf('the last start chose %s (%s), which is used while it does not change:'
      .. ' :WorkflowInstall chooses again', cached.python, cached.origin))
  endif
  var running = host.Running()
  if !empty(running)
    Item('info', printf('the server running now: %s (pid %s)', running.python, get(running, 'pid', '?')))
  endif
  if empty(chosen) && !empty(fallback)
    Item('info', printf('what %s (%s) has:', fallback[0], fallback[1]))
  endif
  return empty(chosen) ? fallback : chosen
enddef

# The whole report, as lines: [text, highlight group of its first word].
export def Report(): list<list<string>>
  out = [['workflow.nvim: health (the checks of :checkhealth workflow)', 'WorkflowHealthHeading']]
  CheckVim()
  Start('Options')
  var cfg: dict<any> = {}
  try
    cfg = config.Options()
    Item('ok', 'g:workflow is valid')
  catch
    Item('error', substitute(v:exception, '^\[workflow\] ', '', ''))
    cfg = {}  # then the defaults: Python applies them
  endtry
  var python = Choose(cfg)
  if empty(python)
    Item('error', 'no Python 3 to check the rest with', ['install Python 3.9 or newer, then run :WorkflowInstall'])
    return out
  endif
  var d = Doctor(python[0], host.Params(cfg))
  if has_key(d, 'error')
    Item('error', printf('cannot run %s: %s', python[0], d.error))
    return out
  endif
  if get(d.report, 'protocol') != host.PROTOCOL
    Item('error', printf('%s has workflow_nvim of protocol %s, this plugin speaks %d',
      python[0], get(d.report, 'protocol', '?'), host.PROTOCOL),
      ['run :WorkflowInstall, or remove the other copy of workflow_nvim from that Python'])
  endif
  for section in d.report.sections
    if section.name != 'Python'  # that one goes on under the heading above
      Start(section.name)
    endif
    for entry in section.items
      Item(entry.level, entry.text, get(entry, 'advice', []))
    endfor
  endfor
  return out
enddef

# :WorkflowHealth: the report in the scratch window workflow://health (made
# again when it is open), OK, WARNING and ERROR in their colours.
export def Show()
  var lines = Report()
  var buf = bufnr('^' .. NAME .. '$')
  var win = buf > 0 ? bufwinid(buf) : -1
  if win > 0
    win_gotoid(win)
  else
    execute 'silent keepalt new ' .. fnameescape(NAME)
    buf = bufnr()
    setlocal buftype=nofile bufhidden=wipe noswapfile nobuflisted nomodeline
    setlocal nonumber norelativenumber nolist nospell
    nnoremap <buffer> <nowait> q <Cmd>close<CR>
  endif
  setlocal modifiable noreadonly
  silent deletebufline(buf, 1, '$')
  setbufline(buf, 1, lines->mapnew((_, l) => l[0]))
  for group in ['WorkflowHealthOk', 'WorkflowHealthWarning', 'WorkflowHealthError', 'WorkflowHealthHeading']
    if empty(prop_type_get(group))
      prop_type_add(group, {highlight: group})
    endif
  endfor
  for i in range(len(lines))
    var [text, group] = lines[i]
    if group != ''
      # the level word (after '- '), or a whole heading
      var col = text =~ '^- ' ? 3 : 1
      var length = text =~ '^- ' ? len(matchstr(text, '^- \zs\S\+')) : len(text)
      prop_add(i + 1, col, {type: group, length: length, bufnr: buf})
    endif
  endfor
  setlocal nomodifiable nomodified
  cursor(1, 1)
enddef
