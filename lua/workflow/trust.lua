-- The trust prompt: asked before a workflow file's commands run (Response.trust). Python owns
-- the rule and the words; this asks with confirm(), sends the answer, and runs the command that
-- asked once more when trusted. Below steprun and check, which both ask.
local M = {}

local api = vim.api
local host = require('workflow.host')
local view = require('workflow.view')

local CHOICES = '&Trust\n&Deny\n&View file'

--- How the person is asked (confirm()); tests put their own answer here.
---@type fun(prompt: string, choices: string, default: integer): integer
M.confirm = function(prompt, choices, default)
  return vim.fn.confirm(prompt, choices, default, 'Question')
end

--- Ask about Response.trust; on Trust or Deny send the answer; on Trust call `again` (the
--- command that asked) once.
---@param q workflow.TrustQuestion
---@param cfg workflow.Options
---@param again fun()|nil
function M.ask(q, cfg, again)
  while true do
    local choice = M.confirm(q.prompt, CHOICES, q.default or 2)
    if choice == 3 then
      local win = api.nvim_get_current_win()
      vim.cmd('sview ' .. vim.fn.fnameescape(vim.fn.expand(q.path))) -- read-only; then asked again
      api.nvim_set_current_win(win) -- what asked goes on where it was: the step's buffer
      vim.cmd('redraw')
    else
      if choice ~= 1 and choice ~= 2 then
        return view.apply({ info = { q.unanswered or 'nothing was trusted or run' } }, {})
      end
      local answer = choice == 1 and 'allow' or q.deny
      local response = host.command('trust', {}, cfg, { answer = answer, sha256 = q.sha256, path = q.path })
      view.apply(response, cfg)
      if choice == 1 and again and not response.error and not q.trusted then
        again()
      end
      return
    end
  end
end

return M
