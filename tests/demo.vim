vim9script
# `make demo-vim`'s first command (tests/demo-vim.sh): the tutorial where the
# person left it, that is :WorkflowResume on its newest unfinished run, else
# :WorkflowStart tutorial for a new one. tests/demo.lua's twin.
var runs: list<any> = []
try
  runs = workflow#host#Command('unfinished', [], workflow#config#Options())->get('unfinished', [])
catch
endtry
var found = runs->copy()->filter((_, r) => r.workflow == 'tutorial')
if empty(found)
  WorkflowStart tutorial
else
  execute 'WorkflowResume ' .. found[0].run
endif
