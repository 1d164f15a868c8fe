-- Command steps: :WorkflowRun, :WorkflowCancel, :WorkflowTrust[!].
-- Python runs the command and decides everything (trust, where it runs, what the step file
-- holds, every message); this module draws: the record's first lines, the output as it is
-- pushed (one change per batch), the file once the command ended. The question is trust.lua's.
local M = {}

local api = vim.api
local host = require('workflow.host')
local trust = require('workflow.trust')
local view = require('workflow.view')

-- The buffers whose command runs. Each is 'nomodifiable' meanwhile: the step file is written
-- from the text it had when the command started, so what is typed meanwhile would be lost.
local running = {} ---@type table<integer, boolean>

--- Change a running command's buffer (unlocked for the change only).
local function change(buf, fn)
  vim.bo[buf].modifiable = true
  fn()
  vim.bo[buf].modified = false -- the command's output is not the person's edit: never saved over the record
  vim.bo[buf].modifiable = not running[buf]
end

--- The command of `buf` ended, or will never say so (the server stopped): editable again.
local function unlock(buf)
  running[buf] = nil
  if api.nvim_buf_is_loaded(buf) then
    vim.bo[buf].modifiable = true
  end
end

--- Response.running: the record's first lines take the place of an earlier record.
local function start(r)
  local buf = r.buf
  if buf and api.nvim_buf_is_loaded(buf) then
    running[buf] = true
    change(buf, function()
      api.nvim_buf_set_lines(buf, r.keep, -1, false, r.lines)
    end)
  end
end

--- Whether a command runs in `buf` (its buffer is locked meanwhile).
function M.running(buf)
  return running[buf] == true
end

--- :WorkflowRun in the current step buffer.
function M.run(cfg)
  if not view.save_all() then
    return
  end
  local buf = api.nvim_get_current_buf()
  local response = host.command('run', {}, cfg, { buf = buf })
  if response.trust then
    return trust.ask(response.trust, cfg, function()
      M.run(cfg)
    end)
  end
  if response.running then
    start(response.running)
  end
  view.apply(response, cfg)
end

--- :WorkflowCancel: a command of this buffer, or its annotation.
function M.cancel(cfg)
  local buf = api.nvim_get_current_buf()
  local annotate = package.loaded['workflow.annotate']
  if annotate and annotate.running(buf) then
    return annotate.cancel(cfg)
  end
  view.apply(host.command('cancel', {}, cfg, { buf = buf }), cfg)
end

--- :WorkflowTrust [file], :WorkflowTrust! [file]
function M.trust(args, bang, cfg)
  local name = api.nvim_buf_get_name(0)
  local response = host.command('trust', args, cfg, { bang = bang, buffer_file = name ~= '' and name or nil })
  if response.trust then
    return trust.ask(response.trust, cfg, nil)
  end
  view.apply(response, cfg)
end

-- Output of a step's command, pushed in batches: appended in one change each.
host.on('output', function(o)
  local buf = o.buf
  local now = o.path and view.buffer_of(o.path) -- the step opened again since: another buffer
  if now and now ~= buf then
    running[now] = running[buf]
    if buf then
      running[buf] = nil
    end
    buf = now
  end
  if o.done and buf then
    unlock(buf)
  end
  if not (buf and api.nvim_buf_is_loaded(buf)) then
    return
  end
  if #o.lines > 0 then
    change(buf, function()
      api.nvim_buf_set_lines(buf, -1, -1, false, o.lines)
    end)
  end
  if o.done then
    if o.reload and o.path then
      view.show_file(buf, o.path)
    end
    if o.message then
      view.apply({ info = { o.message } }, {})
    end
  end
end)

-- The server stopped: no command of it will end, nor say so.
host.on_stopped(function()
  for buf in pairs(running) do
    unlock(buf)
  end
end)

return M
