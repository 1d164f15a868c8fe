-- :WorkflowAnnotate: notes from a local model on the current buffer, shown as
-- diagnostics in the plugin's own namespace while the person keeps typing.
-- The request runs in a Python thread; batches arrive through update().
local M = {}

local api = vim.api

M.ns = api.nvim_create_namespace('workflow_annotate') -- notes (extmarks and diagnostics)
local anchor_ns = api.nvim_create_namespace('workflow_annotate_anchor') -- lines as they were asked about
local progress_ns = api.nvim_create_namespace('workflow_annotate_progress')
local group = api.nvim_create_augroup('workflow_annotate', { clear = true })

local SEVERITY = {
  error = vim.diagnostic.severity.ERROR,
  warning = vim.diagnostic.severity.WARN,
  info = vim.diagnostic.severity.INFO,
  hint = vim.diagnostic.severity.HINT,
}
-- The notes are the point: show their text at the end of the line (a person can
-- change this with vim.diagnostic.config({...}, require('workflow.annotate').ns)).
vim.diagnostic.config({ virtual_text = { prefix = '●', spacing = 2 }, severity_sort = true }, M.ns)

local SPINNER = { '⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏' }

-- buffer -> { request, first, anchors = {line -> extmark}, model, tokens, progress }
local running = {}
-- buffer -> { notes = {{mark, severity, note, line}}, diags = the diagnostics set from them, model }
-- (kept after the request ends, for re-anchoring)
local shown = {}
local next_request = 0

local notify = require('workflow.message').say

local function diagnostic(buf, s, n)
  local pos = api.nvim_buf_get_extmark_by_id(buf, M.ns, n.mark, {})
  if pos[1] then
    return {
      lnum = pos[1],
      col = 0,
      severity = SEVERITY[n.severity] or vim.diagnostic.severity.INFO,
      message = n.note,
      source = s.model,
    }
  end
end

-- Diagnostics from the notes' extmarks, so they follow the lines as the text is edited.
local function publish(buf)
  local s = shown[buf]
  if not s or not api.nvim_buf_is_valid(buf) then
    return
  end
  s.diags = {}
  for _, n in ipairs(s.notes) do
    s.diags[#s.diags + 1] = diagnostic(buf, s, n)
  end
  vim.diagnostic.set(M.ns, buf, s.diags)
end

local function set_progress(buf, r, text)
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  local row = math.min(r.first - 1, api.nvim_buf_line_count(buf) - 1)
  r.progress = api.nvim_buf_set_extmark(buf, progress_ns, math.max(row, 0), 0, {
    id = r.progress,
    virt_text = { { text, 'WorkflowAnnotateProgress' } },
    virt_text_pos = 'eol',
  })
end

local function finish(buf)
  local r = running[buf]
  running[buf] = nil
  if api.nvim_buf_is_valid(buf) then
    api.nvim_buf_clear_namespace(buf, anchor_ns, 0, -1)
    api.nvim_buf_clear_namespace(buf, progress_ns, 0, -1)
  end
  return r
end

--- Remove the notes from `buf`.
function M.clear(buf)
  buf = buf == 0 and api.nvim_get_current_buf() or buf
  shown[buf] = nil
  if api.nvim_buf_is_valid(buf) then
    api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
    vim.diagnostic.reset(M.ns, buf)
    vim.b[buf].workflow_annotation = nil
  end
end

local function watch(buf)
  if vim.b[buf].workflow_annotate_watched then
    return
  end
  vim.b[buf].workflow_annotate_watched = true
  api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: keep notes on their lines',
    callback = function(ev)
      publish(ev.buf)
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'BufWipeout' }, {
    group = group,
    buffer = buf,
    desc = 'workflow.nvim: a closed buffer cancels its annotation',
    callback = function(ev)
      if running[ev.buf] then
        running[ev.buf] = nil
        pcall(require('workflow.host').call, 'annotate_cancel', { buf = ev.buf, quiet = true })
      end
      shown[ev.buf] = nil
    end,
  })
end

-- The server stopped (it crashed, or was killed): no more batches will come, and a new server
-- knows no request. Stop waiting, keep the notes already shown, and say so once.
require('workflow.host').on('stopped', function(why)
  local any = false
  for buf in pairs(running) do
    finish(buf)
    any = true
  end
  if any then -- async, as the model's answers are: one line, fitted to the command line
    require('workflow.message').echo({
      { ('[workflow] the Python server stopped (%s): annotation ended; run it again'):format(why), 'WarningMsg' },
    })
  end
end)

--- :WorkflowAnnotate [instruction], over lines line1..line2 of the current buffer.
function M.start(opts, cfg)
  local buf = api.nvim_get_current_buf()
  local first, last = opts.line1, opts.line2
  if opts.range == 0 then
    first, last = 1, api.nvim_buf_line_count(buf)
  end
  local lines = api.nvim_buf_get_lines(buf, first - 1, last, false)
  next_request = next_request + 1
  local request = next_request
  -- Which model, where, how long to wait: Python reads them from the options.
  local response = require('workflow.host').command('annotate', opts.fargs, cfg, {
    buf = buf,
    lines = lines,
    first_line = first,
    request = request,
  })
  if response.error then
    return require('workflow.view').apply(response, cfg)
  end
  for _, line in ipairs(response.info or {}) do
    notify(line) -- where the text goes, before any of it is sent: a workflow's model, another machine
  end
  finish(buf) -- Python said if it cancelled one
  -- One anchor per line asked about: a note for line N lands where that line is now.
  local anchors = {}
  for i = first, last do
    anchors[i] = api.nvim_buf_set_extmark(buf, anchor_ns, i - 1, 0, {})
  end
  running[buf] = {
    request = request,
    first = first,
    anchors = anchors,
    model = response.annotating.model,
    tokens = 0,
  }
  watch(buf)
  set_progress(buf, running[buf], ' ' .. SPINNER[1] .. ' asking ' .. running[buf].model .. '…')
end

--- A batch from the Python side: { buf, request, notes, tokens, done, summary, error, ... }.
function M.update(a)
  local buf = a.buf
  local r = running[buf]
  if not r or r.request ~= a.request or not api.nvim_buf_is_valid(buf) then
    return -- a cancelled or superseded request, or a closed buffer: nothing to show
  end
  if a.replace then -- Python says when the notes shown give way to this answer's
    M.clear(buf)
    shown[buf] = { notes = {}, diags = {}, model = r.model }
  end
  local s = shown[buf] or { notes = {}, diags = {}, model = r.model }
  -- A batch adds its own notes: the ones shown already keep their diagnostics (Python caps the count).
  for _, n in ipairs(a.notes or {}) do
    local anchor = r.anchors[n.line] or r.anchors[r.first]
    local pos = anchor and api.nvim_buf_get_extmark_by_id(buf, anchor_ns, anchor, {}) or {}
    local row = pos[1] or math.min(n.line - 1, api.nvim_buf_line_count(buf) - 1)
    local mark = api.nvim_buf_set_extmark(buf, M.ns, row, 0, {})
    local note = { mark = mark, severity = n.severity, note = n.note, line = n.line }
    s.notes[#s.notes + 1] = note
    s.diags[#s.diags + 1] = diagnostic(buf, s, note)
  end
  if #(a.notes or {}) > 0 then
    vim.diagnostic.set(M.ns, buf, s.diags)
  end
  r.tokens = a.tokens or r.tokens
  if not a.done then
    set_progress(
      buf,
      r,
      (' %s %s: %d chunk%s, %d note%s'):format(
        SPINNER[r.tokens % #SPINNER + 1],
        r.model,
        r.tokens,
        r.tokens == 1 and '' or 's',
        #s.notes,
        #s.notes == 1 and '' or 's'
      )
    )
    return
  end
  finish(buf)
  if a.cancelled then
    return
  end
  vim.b[buf].workflow_annotation = {
    model = r.model,
    summary = a.summary,
    incomplete = a.incomplete,
    covered = a.covered,
    notes = #s.notes,
    dropped = a.dropped,
    error = a.error,
  }
  if not a.error then
    require('workflow.view').fire(
      'WorkflowAnnotated',
      vim.tbl_extend('force', { buf = buf }, vim.b[buf].workflow_annotation)
    )
  end
  if a.error then
    -- Errors come right after the command: no buffer name, so the line keeps its advice; cut to
    -- the message line (never a Press-ENTER prompt), the whole line is in b:workflow_annotation.
    require('workflow.message').echo({ { '[workflow] ' .. a.error, 'ErrorMsg' } })
    return
  end
  local name = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':t')
  local chunks = {
    { name ~= '' and ('[workflow] %s: '):format(name) or '[workflow] ', nil },
    {
      ('%s: %d note%s%s'):format(
        r.model,
        #s.notes,
        #s.notes == 1 and '' or 's',
        a.incomplete and ' (incomplete)' or ''
      ),
      'WorkflowAnnotateSummary',
    },
  }
  if a.dropped then
    chunks[#chunks + 1] = { (' (%d more notes dropped)'):format(a.dropped), 'WarningMsg' }
  end
  if a.warning then
    chunks[#chunks + 1] = { ' (' .. a.warning .. ')', 'WarningMsg' }
  end
  if a.summary and a.summary ~= '' then
    chunks[#chunks + 1] = { ': ' .. a.summary, nil }
  end
  -- One line, whatever the model wrote: the whole summary stays in b:workflow_annotation.
  require('workflow.message').echo(chunks)
end

--- :WorkflowAnnotateCancel
function M.cancel(cfg)
  local buf = api.nvim_get_current_buf()
  if not running[buf] then
    return notify('no annotation is running in this buffer', vim.log.levels.WARN)
  end
  finish(buf)
  local response = require('workflow.host').command('annotate_cancel', {}, cfg, { buf = buf, quiet = true })
  if response.error then
    return notify(response.error, vim.log.levels.ERROR)
  end
  notify('annotation cancelled')
end

--- True while an annotation of `buf` is running.
function M.running(buf)
  return running[buf == 0 and api.nvim_get_current_buf() or buf] ~= nil
end

--- :WorkflowModels: the server's models; choose one for vim.g.workflow.model.
function M.models(cfg)
  local response = require('workflow.host').command('models', {}, cfg)
  if response.error then
    return notify(response.error, vim.log.levels.ERROR)
  end
  if #response.models == 0 then
    return require('workflow.view').apply(response, cfg) -- what to pull
  end
  local remote = response.remote or {}
  vim.ui.select(response.models, {
    prompt = ('Model for :WorkflowAnnotate (now %s)'):format(response.model),
    format_item = function(name)
      return remote[name] and ('%s (runs on %s)'):format(name, remote[name]) or name
    end,
  }, function(choice)
    if choice then
      vim.cmd('redraw') -- the list is gone before the message: no hit-enter prompt
      local g = vim.g.workflow or {}
      g.model = choice
      vim.g.workflow = g -- assign the whole table: vim.g does not see changes inside one
      if remote[choice] and not response.allow_remote then
        -- Choosing a model is not consent to send text off this machine.
        notify(('annotations now use %s, which runs on %s: set g:workflow.allow_remote'):format(choice, remote[choice]))
      else
        notify('annotations now use ' .. choice)
      end
    end
  end)
end

require('workflow.host').on('annotation', M.update)

return M
