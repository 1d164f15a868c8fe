-- `make demo`'s first command (tests/demo.sh): the tutorial where the person left it, that is
-- :WorkflowResume on its newest unfinished run, else :WorkflowStart tutorial for a new one.
local ok, cfg = pcall(require('workflow.config').options)
local runs = ok and require('workflow.host').command('unfinished', {}, cfg).unfinished or {}
for _, run in ipairs(runs) do -- newest first
  if run.workflow == 'tutorial' then
    return vim.cmd('WorkflowResume ' .. run.run)
  end
end
vim.cmd('WorkflowStart tutorial')
