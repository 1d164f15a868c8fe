vim9script
# Where workflow.nvim keeps things, in both editors (:help workflow-places):
# XDG-based, so that a run started in Vim is listed and resumed in Neovim and
# the other way round. An empty XDG variable counts as unset.
#   data    $XDG_DATA_HOME/workflow.nvim    runs/, venv/
#   config  $XDG_CONFIG_HOME/workflow.nvim  workflows/
#   cache   $XDG_CACHE_HOME/workflow.nvim   python.json: the chosen Python
#   state   $XDG_STATE_HOME/workflow.nvim   workflow.log: the server's log

def Base(variable: string, fallback: string): string
  var value = getenv(variable)
  if value == v:null || value == ''
    value = expand('~') .. '/' .. fallback
  endif
  # as Python's Path and places.lua: no trailing slash, and so no '//'
  return substitute(value, '\v(.)/+$', '\1', '') .. '/workflow.nvim'
enddef

# {data, config, cache, state, runs, venv, workflows, log, python_cache}:
# absolute paths.
export def Get(): dict<string>
  var p: dict<string> = {
    data: Base('XDG_DATA_HOME', '.local/share'),
    config: Base('XDG_CONFIG_HOME', '.config'),
    cache: Base('XDG_CACHE_HOME', '.cache'),
    state: Base('XDG_STATE_HOME', '.local/state'),
  }
  p.runs = p.data .. '/runs'
  p.venv = p.data .. '/venv'
  p.workflows = p.config .. '/workflows'
  p.log = p.state .. '/workflow.log'
  p.python_cache = p.cache .. '/python.json'  # shared with Neovim: host.vim
  return p
enddef

# Neovim's own data directory (stdpath('data')), where its older versions kept
# runs and the plugin's environment: still found.
export def NeovimData(): string
  var value = getenv('XDG_DATA_HOME')
  if value == v:null || value == ''
    value = expand('~') .. '/.local/share'
  endif
  var app = getenv('NVIM_APPNAME')
  return value .. '/' .. (app == v:null || app == '' ? 'nvim' : app)
enddef

# Neovim's own config directory (stdpath('config')), where its older versions
# looked for the person's workflows: still searched (catalog.py).
export def NeovimConfig(): string
  var value = getenv('XDG_CONFIG_HOME')
  if value == v:null || value == ''
    value = expand('~') .. '/.config'
  endif
  var app = getenv('NVIM_APPNAME')
  return value .. '/' .. (app == v:null || app == '' ? 'nvim' : app)
enddef
