-- workflow.nvim for luarocks and rocks.nvim (`luarocks lint` checks it in `make lint`).
-- The Lua modules are found in lua/ (builtin build); the rest of the plugin is copied into the
-- rock's own directory, which rocks.nvim puts on the runtimepath.
rockspec_format = '3.0'
package = 'workflow.nvim'
version = 'scm-1'

source = {
  -- Where you got this repository (README.md: Install).
  url = 'git+https://example.org/you/workflow.nvim.git',
}

description = {
  summary = 'Linear, well-described YAML workflows in Neovim, with local AI notes and git history',
  detailed = [[
Follow a workflow (a YAML file of steps) one step buffer at a time; each completed step is a git
commit, and a local model served by Ollama can annotate a step with notes. The Python side runs
as a child process of Neovim: after installing, run :WorkflowInstall once.]],
  labels = { 'neovim', 'neovim-plugin' },
  license = 'MIT',
}

dependencies = {
  'lua >= 5.1',
}

build = {
  type = 'builtin',
  copy_directories = { 'autoload', 'doc', 'plugin', 'rplugin', 'workflows' },
  -- A single file is not a directory: the schema goes to the rock's conf/ (schema_path() looks there too).
  install = { conf = { ['workflow.schema.json'] = 'workflow.schema.json' } },
}
