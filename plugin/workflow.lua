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

-- The command table (a copy of protocol.py's, checked by a test): data only, no Python.
local commands = require('workflow.commands')
local by_command = {}

api.nvim_create_user_command('Workflow', function(o)
  require('workflow.command').run(nil, o)
end, {
  nargs = '*', -- a missing subcommand gets a [workflow] message listing them
  desc = 'workflow.nvim: :Workflow {subcommand} [args]',
  complete = function(arglead, cmdline, pos)
    return require('workflow.command').complete(nil, arglead, cmdline, pos)
  end,
})
for _, c in ipairs(commands) do
  by_command[c.command] = c
  api.nvim_create_user_command(c.command, function(o)
    require('workflow.command').run(c.name, o)
  end, {
    -- Arguments are checked by workflow.command, so that a missing or extra one
    -- gets a [workflow] message rather than E471/E488.
    nargs = c.most == 0 and 0 or '*',
    bar = c.most ~= -1, -- free text (:WorkflowAnnotate's instruction) may hold a |
    range = c.takes_range and '%' or nil,
    desc = c.desc,
    complete = c.most ~= 0 and function(arglead, cmdline, pos)
      return require('workflow.command').complete(c.name, arglead, cmdline, pos)
    end or nil,
  })
end

api.nvim_set_keymap('n', '<Plug>(WorkflowAnnotate)', '<Cmd>WorkflowAnnotate<CR>', {
  noremap = true,
  silent = true,
  desc = by_command.WorkflowAnnotate.desc,
})
api.nvim_set_keymap('x', '<Plug>(WorkflowAnnotate)', ':WorkflowAnnotate<CR>', {
  noremap = true,
  silent = true,
  desc = 'Ask the local model for notes on the selected lines',
})
api.nvim_set_keymap('n', '<Plug>(WorkflowAnnotateCancel)', '<Cmd>WorkflowAnnotateCancel<CR>', {
  noremap = true,
  silent = true,
  desc = by_command.WorkflowAnnotateCancel.desc,
})

for _, name in ipairs({ 'Next', 'Prev', 'Status' }) do
  api.nvim_set_keymap('n', '<Plug>(Workflow' .. name .. ')', '<Cmd>Workflow' .. name .. '<CR>', {
    noremap = true,
    silent = true,
    desc = by_command['Workflow' .. name].desc,
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
