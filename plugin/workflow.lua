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
    bang = c.bang or nil,
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

-- WorkflowComment: the colours of Comment, with a colour of its own where Comment has none or
-- has Normal's. Neovim 0.11's own colours give Comment no cterm colour, so in a 256-colour
-- terminal (tmux, macOS Terminal) the instructions would look like the person's text. Cyan, as
-- Neovim's own colours use for hints: 6 and 14 are in every 16-colour palette, never the
-- background (0, 7, 8, 15 may be). Made again when the colours or 'background' change.
local FALLBACK = {
  dark = { fg = '#8cf8f7', ctermfg = 14 }, -- NvimLightCyan
  light = { fg = '#007373', ctermfg = 6 }, -- NvimDarkCyan
}

local function comment_colours()
  local comment = api.nvim_get_hl(0, { name = 'Comment', link = false })
  local normal = api.nvim_get_hl(0, { name = 'Normal', link = false })
  local fallback = FALLBACK[vim.o.background] or FALLBACK.dark
  local hl = vim.deepcopy(comment)
  if not comment.fg or comment.fg == normal.fg then
    hl.fg = fallback.fg
  end
  if not comment.ctermfg or comment.ctermfg == normal.ctermfg then
    hl.ctermfg = fallback.ctermfg
  end
  return hl
end

local function highlights()
  api.nvim_set_hl(0, 'WorkflowComment', comment_colours())
  api.nvim_set_hl(0, 'WorkflowInstructions', { default = true, link = 'WorkflowComment' })
  api.nvim_set_hl(0, 'WorkflowInstructionsTitle', { default = true, link = 'Title' })
  api.nvim_set_hl(0, 'WorkflowProgress', { default = true, link = 'WinBar' })
  api.nvim_set_hl(0, 'WorkflowDone', { default = true, link = 'DiagnosticOk' })
  api.nvim_set_hl(0, 'WorkflowStale', { default = true, link = 'DiagnosticWarn' })
  api.nvim_set_hl(0, 'WorkflowAnnotateProgress', { default = true, link = 'WorkflowComment' })
  api.nvim_set_hl(0, 'WorkflowAnnotateSummary', { default = true, link = 'Title' })
end
highlights()
local highlight_group = api.nvim_create_augroup('workflow_highlights', { clear = true })
api.nvim_create_autocmd('ColorScheme', { group = highlight_group, callback = highlights })
-- Neovim's own colours change with 'background' without a ColorScheme event.
api.nvim_create_autocmd('OptionSet', { group = highlight_group, pattern = 'background', callback = highlights })

-- Live diagnostics in workflow files (lua/workflow/check.lua): a YAML buffer is looked at when it is
-- read or made, and whether it is a workflow file in a search directory is decided there, without
-- starting Python (:help workflow-check-live).
local function yaml_opened(ev)
  require('workflow.check').opened(ev.buf)
end
api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
  group = api.nvim_create_augroup('workflow_check', { clear = true }),
  pattern = { '*.yaml', '*.yml' },
  desc = 'workflow.nvim: live diagnostics in workflow files',
  callback = yaml_opened,
})
-- Loaded late (lazy.nvim, on a YAML file or a first command): the YAML files open now.
for _, buf in ipairs(api.nvim_list_bufs()) do
  if api.nvim_buf_is_loaded(buf) and api.nvim_buf_get_name(buf):match('%.ya?ml$') then
    yaml_opened({ buf = buf })
  end
end

vim.cmd([[
function! WorkflowState() abort
  return v:lua.require'workflow.state'.get()
endfunction
]])
