vim9script
# Options: g:workflow, a dictionary with the keys of Neovim's vim.g.workflow,
# checked here so that a mistake is said at once, without starting Python.
# Python applies the defaults (workflow_nvim/options.py): the front sends the
# options as the person set them. Mirrors lua/workflow/config.lua.

# option -> [Vim type, description]
export const SCHEMA: dict<list<any>> = {
  runs_dir: [v:t_string, 'a directory path'],
  paths: [v:t_list, 'a list of directory paths'],
  default_mappings: [v:t_bool, 'true or false'],
  model: [v:t_string, 'an Ollama model name, such as "llama3.2"'],
  ollama_host: [v:t_string, 'a URL such as "http://127.0.0.1:11434"'],
  allow_remote: [v:t_bool, 'true or false'],
  annotate_timeout: [v:t_number, 'seconds to wait for the first token'],
  annotate_temperature: [v:t_number, 'a temperature from 0 to 2'],
  annotate_seed: [v:t_number, 'a whole number'],
  run_timeout: [v:t_number, "seconds a step's command may run"],
  python: [v:t_string, 'the path of a Python 3 interpreter'],
  check_live: [v:t_bool, 'true or false'],
}

# Edit distance where swapping two neighbouring letters counts as one edit
# (optimal string alignment), so "strat" is one edit from "start".
def Distance(a: string, b: string): number
  var d: list<list<number>> = []
  var la = strchars(a)
  var lb = strchars(b)
  for i in range(la + 1)
    d->add([i] + repeat([0], lb))
  endfor
  for j in range(lb + 1)
    d[0][j] = j
  endfor
  for i in range(1, la)
    for j in range(1, lb)
      var cost = strcharpart(a, i - 1, 1) == strcharpart(b, j - 1, 1) ? 0 : 1
      d[i][j] = min([d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost])
      if i > 1 && j > 1 && strcharpart(a, i - 1, 1) == strcharpart(b, j - 2, 1)
          && strcharpart(a, i - 2, 1) == strcharpart(b, j - 1, 1)
        d[i][j] = min([d[i][j], d[i - 2][j - 2] + 1])
      endif
    endfor
  endfor
  return d[la][lb]
enddef

# ", did you mean 'x'?" for the closest of `choices`, or ''.
export def DidYouMean(word: string, choices: list<string>): string
  var best = ''
  var best_d = -1
  for c in choices
    var d = Distance(word, c)
    if d <= max([1, strchars(c) / 3]) && (best_d < 0 || d < best_d)
      best = c
      best_d = d
    endif
  endfor
  return best == '' ? '' : printf(", did you mean '%s'?", best)
enddef

# One line naming the bad field of `opts`, or ''.
export def Validate(opts: any): string
  if type(opts) != v:t_dict
    return printf('g:workflow must be a dictionary, got %s', string(opts))
  endif
  var names = keys(SCHEMA)->sort()
  for [key, value] in items(opts)
    if !has_key(SCHEMA, key)
      return printf('unknown option g:workflow.%s%s (options: %s)', key, DidYouMean(key, names), names->join(', '))
    endif
    var want = SCHEMA[key][0]
    var got = type(value)
    var ok = got == want
      || (want == v:t_number && got == v:t_float)
      || (want == v:t_bool && got == v:t_number && (value == 0 || value == 1))
    if !ok
      return printf('g:workflow.%s must be %s, got %s', key, SCHEMA[key][1], string(value))
    endif
  endfor
  var i = 1
  for p in get(opts, 'paths', [])
    if type(p) != v:t_string
      return printf('g:workflow.paths[%d] must be a directory path, got %s', i, string(p))
    endif
    i += 1
  endfor
  if get(opts, 'runs_dir', 'x') == ''
    return 'g:workflow.runs_dir must not be empty'
  endif
  return ''
enddef

# g:workflow as the person set it, for Python (v:true/v:false for 0/1 where a
# boolean is meant); throws a one-line message if it is invalid.
export def Options(): dict<any>
  var user = get(g:, 'workflow', {})
  var err = Validate(user)
  if err != ''
    throw err
  endif
  var opts = deepcopy(user)
  for [key, value] in items(opts)
    if SCHEMA[key][0] == v:t_bool
      opts[key] = value ? true : false
    endif
  endfor
  return opts
enddef
