-- workflow.nvim: walk through a linear YAML workflow, one step buffer at a time.
-- Only definitions here: commands, <Plug> maps, highlight defaults and the
-- WorkflowState() function. Nothing is read and no Python starts until a
-- command is used; see lua/workflow/ and :help workflow.
if vim.g.loaded_workflow then
  return
end
vim.g.loaded_workflow = 1

local api = vim.api

if vim.fn.has('nvim-0.10') == 0 then
  -- Older Neovims get one clear line instead of a stack trace.
  local v = vim.version and vim.version()
  local this = v and ('%d.%d.%d'):format(v.major, v.minor, v.patch) or 'older'
  for _, name in ipairs({ 'Workflow', 'WorkflowStart', 'WorkflowResume', 'WorkflowList' }) do
    vim.cmd(
      'command! -nargs=* '
        .. name
        .. ' echohl ErrorMsg | echomsg "[workflow] needs Neovim 0.10 or newer; this is Neovim '
        .. this
        .. ': see :help workflow-install" | echohl None'
    )
  end
  return
end

-- name -> { subcommand, nargs, description, completion kind }
local commands = {
  Workflow = { nil, '+', 'workflow.nvim: :Workflow {subcommand} [args]' },
  WorkflowStart = { 'start', 1, 'Start a workflow by name', 'workflows' },
  WorkflowNext = { 'next', 0, 'Complete the current step and open the next' },
  WorkflowPrev = { 'prev', 0, 'Open the previous step' },
  WorkflowGoto = { 'goto', 1, 'Open a step by id or number', 'steps' },
  WorkflowStatus = { 'status', 0, 'Show the progress of the current run' },
  WorkflowList = { 'list', 0, 'List the workflows found, with errors' },
  WorkflowStop = { 'stop', 0, 'Stop the current run (its files stay)' },
  WorkflowRevert = { 'revert', 1, 'Go back to a step: later steps become pending (history kept)', 'steps' },
  WorkflowLog = { 'log', 0, "Show the run's history: one line per step commit" },
  WorkflowResume = { 'resume', '?', 'Resume an unfinished run', 'runs' },
  WorkflowAnnotate = { 'annotate', '*', 'Ask the local model for notes on the buffer or range' },
  WorkflowAnnotateCancel = { 'annotate_cancel', 0, 'Stop the running annotation' },
  WorkflowAnnotateClear = { 'annotate_clear', 0, "Remove the model's notes from the buffer" },
  WorkflowModels = { 'models', 0, "Choose the Ollama model from the server's list" },
}

for name, spec in pairs(commands) do
  local sub, nargs, desc, kind = spec[1], spec[2], spec[3], spec[4]
  local opts = {
    -- Arguments are checked by workflow.command, so that a missing or extra one
    -- gets a [workflow] message rather than E471/E488.
    nargs = nargs == 0 and 0 or '*',
    bar = sub ~= 'annotate', -- :WorkflowAnnotate takes free text, which may hold a |
    range = sub == 'annotate' and '%' or nil,
    desc = desc,
    complete = function(arglead, cmdline, pos)
      return require('workflow.command').complete(sub, kind, arglead, cmdline, pos)
    end,
  }
  if nargs == 0 then
    opts.complete = nil
  end
  api.nvim_create_user_command(name, function(o)
    require('workflow.command').run(sub, o)
  end, opts)
end

api.nvim_set_keymap('n', '<Plug>(WorkflowAnnotate)', '<Cmd>WorkflowAnnotate<CR>', {
  noremap = true,
  silent = true,
  desc = commands.WorkflowAnnotate[3],
})
api.nvim_set_keymap('x', '<Plug>(WorkflowAnnotate)', ':WorkflowAnnotate<CR>', {
  noremap = true,
  silent = true,
  desc = 'Ask the local model for notes on the selected lines',
})
api.nvim_set_keymap('n', '<Plug>(WorkflowAnnotateCancel)', '<Cmd>WorkflowAnnotateCancel<CR>', {
  noremap = true,
  silent = true,
  desc = commands.WorkflowAnnotateCancel[3],
})

for _, name in ipairs({ 'Next', 'Prev', 'Status' }) do
  api.nvim_set_keymap('n', '<Plug>(Workflow' .. name .. ')', '<Cmd>Workflow' .. name .. '<CR>', {
    noremap = true,
    silent = true,
    desc = commands['Workflow' .. name][3],
  })
end

local function highlights()
  api.nvim_set_hl(0, 'WorkflowInstructions', { default = true, link = 'Comment' })
  api.nvim_set_hl(0, 'WorkflowInstructionsTitle', { default = true, link = 'Title' })
  api.nvim_set_hl(0, 'WorkflowProgress', { default = true, link = 'WinBar' })
  api.nvim_set_hl(0, 'WorkflowDone', { default = true, link = 'DiagnosticOk' })
  api.nvim_set_hl(0, 'WorkflowAnnotateProgress', { default = true, link = 'Comment' })
  api.nvim_set_hl(0, 'WorkflowAnnotateSummary', { default = true, link = 'Title' })
end
highlights()
api.nvim_create_autocmd('ColorScheme', {
  group = api.nvim_create_augroup('workflow_highlights', { clear = true }),
  callback = highlights,
})

vim.cmd([[
function! WorkflowState() abort
  return v:lua.require'workflow.state'.get()
endfunction
]])
