" Minimal configuration for `make demo-vim` (and a person's try): this checkout
" on the runtime path and the test Python as the plugin's, nothing else.
" WORKFLOW_PYTHON names the Python; without it the plugin chooses one itself.
vim9script
var root = expand('<sfile>:p:h:h')
execute 'set runtimepath^=' .. fnameescape(root)
set nocompatible noswapfile
set laststatus=2  # the progress is each step window's status line (:help workflow-vim)
if !empty($WORKFLOW_PYTHON) && $WORKFLOW_PYTHON != 'none'
  g:workflow = {python: $WORKFLOW_PYTHON}
endif
filetype plugin indent on
syntax on
