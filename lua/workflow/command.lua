-- The front door: :Workflow {subcommand} and the :WorkflowXxx commands, with
-- completion. Each command saves the step buffers, asks the Python side, and
-- hands the answer to workflow.view.
local M = {}

local config = require('workflow.config')

local host = require('workflow.host')

--- name -> workflow.Command (lua/workflow/commands.lua: the one table)
M.by_name = {}
for _, c in ipairs(require('workflow.commands')) do
  M.by_name[c.name] = c
end

local function names()
  local list = vim.tbl_keys(M.by_name)
  table.sort(list)
  return list
end

local function fail(msg)
  require('workflow.message').say(msg, vim.log.levels.ERROR)
end

--- Run a subcommand; `opts` is what nvim_create_user_command passes.
function M.run(sub, opts)
  require('workflow.helptags').ensure() -- :help workflow for a clone no plugin manager ran :helptags on
  local args = vim.deepcopy(opts.fargs)
  if not sub then
    sub = table.remove(args, 1)
    if sub == nil then
      return fail(('which subcommand? :Workflow {%s}'):format(table.concat(names(), '|')))
    end
    if M.by_name[sub] == nil then
      return fail(
        ("unknown subcommand '%s'%s (try :Workflow <Tab>: %s)"):format(
          tostring(sub),
          config.did_you_mean(tostring(sub), names()),
          table.concat(names(), ', ')
        )
      )
    end
  end
  local spec = M.by_name[sub]
  if sub == 'install' then
    return require('workflow.install').run()
  end
  if sub == 'health' then
    return vim.cmd('checkhealth workflow') -- lua/workflow/health.lua
  end
  if #args < spec.fewest or (spec.most >= 0 and #args > spec.most) then
    local usage = ':' .. spec.command
    if spec.most == 0 then
      return fail(('%s takes no argument'):format(usage))
    end
    return fail(('%s takes %s%s (<Tab> completes)'):format(usage, spec.fewest == 0 and 'at most ' or '', spec.what))
  end
  local ok, cfg = pcall(config.options)
  if not ok then
    return fail(cfg)
  end
  if sub == 'new' then
    return M.new(args, cfg)
  end
  if sub == 'check' then
    return require('workflow.check').run(cfg) -- the buffer's text as a workflow file
  end
  if sub == 'run' or sub == 'cancel' then
    return require('workflow.steprun')[sub](cfg) -- command steps
  end
  if sub == 'runs' then
    return require('workflow.runs').open(cfg, function(run) -- every run, in a buffer of its own
      M.run('resume', { fargs = { run } })
    end)
  end
  if sub == 'trust' then
    return require('workflow.steprun').trust(args, opts.bang == true, cfg)
  end
  if not spec.needs_run and sub ~= 'export' then -- export: saved step buffers first, as below
    local annotate = require('workflow.annotate')
    if sub == 'annotate' then
      return annotate.start(vim.tbl_extend('force', opts, { fargs = args }), cfg) -- without :Workflow's 'annotate'
    elseif sub == 'annotate_cancel' then
      return annotate.cancel(cfg)
    elseif sub == 'annotate_clear' then
      return annotate.clear(0)
    end
    return annotate.models(cfg)
  end
  local view = require('workflow.view')
  if (sub == 'next' or sub == 'revert') and package.loaded['workflow.annotate'] then
    for _, buf in ipairs(view.step_buffers()) do
      if require('workflow.annotate').running(buf) then
        -- Its notes would miss the commit, or land in it half-written.
        return fail(
          ('the model is still annotating %s: wait for it, or :WorkflowAnnotateCancel there'):format(
            vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t')
          )
        )
      end
    end
  end
  if not view.save_all() then
    return
  end
  if sub == 'resume' and #args == 0 then
    return M.pick_run(cfg)
  end
  local response = M.call(sub, args, cfg, { bang = opts.bang or nil })
  if response.trust then -- a command this would run is not trusted yet: ask, then do it again
    return require('workflow.trust').ask(response.trust, cfg, function()
      M.run(sub, opts)
    end)
  end
  if response.diagnostics then -- a step's checks: failures drawn on their lines, or cleared
    require('workflow.check').show(response.diagnostics)
  end
  view.apply(response, cfg)
  if response.log then
    require('workflow.log').open(response.log)
  end
  if response.open and response.open.autorun then
    require('workflow.steprun').run(cfg) -- the step says: run its command on first opening
  end
end

--- Ask the Python side (see workflow.host.command; kept here for scripts).
M.call = host.command

-- A background commit's outcome, pushed by the server.
host.on('commit', function(response)
  local ok, cfg = pcall(config.options)
  require('workflow.view').apply(response, ok and cfg or {})
end)

-- A step's check command ended (it ran in the background). Asked by :WorkflowNext, passed, and the
-- person still in that buffer with the text it checked: :WorkflowNext again, which completes the
-- step (Python remembers the pass; nothing runs twice). Otherwise its result is drawn.
host.on('checked', function(c)
  local api = vim.api
  local buf = c.buf
  local function unchanged()
    return buf
      and api.nvim_buf_is_loaded(buf)
      and api.nvim_get_current_buf() == buf
      and api.nvim_buf_get_changedtick(buf) == c.tick
  end
  if c.passed and c.completes and unchanged() then
    return vim.schedule(function()
      if unchanged() then
        M.run('next', { fargs = {} })
      end
    end)
  end
  local r = c.response or {}
  if r.diagnostics and buf and api.nvim_buf_is_loaded(buf) then
    require('workflow.check').show(vim.tbl_extend('force', r.diagnostics, { buf = buf }))
  end
  local ok, cfg = pcall(config.options)
  require('workflow.view').apply(r, ok and cfg or {})
end)

--- :WorkflowNew {name}: Python makes the file from its skeleton and says where; with no project
--- here it first offers where the file may go (`choose`), and is asked again with the choice.
function M.new(args, cfg, extra)
  local view = require('workflow.view')
  local response = M.call('new', args, cfg, extra)
  local choose = response.choose
  if choose then
    return vim.ui.select(choose.choices, {
      prompt = choose.prompt,
      format_item = function(c)
        return c.label
      end,
    }, function(choice)
      if choice then
        vim.cmd('redraw') -- the list is gone before the message: no hit-enter prompt
        M.new(args, cfg, { where = choice.key })
      end
    end)
  end
  if response.edit then
    -- silent: the file's own "N lines" message and the one below would ask for ENTER
    local ok, err = pcall(vim.cmd, 'silent edit ' .. vim.fn.fnameescape(response.edit))
    if not ok then -- this buffer cannot be left ('nohidden' and changes): a split then
      ok, err = pcall(vim.cmd, 'silent split ' .. vim.fn.fnameescape(response.edit))
    end
    if not ok then
      response.error = ('cannot open %s: %s'):format(response.edit, require('workflow.message').error_text(err))
    end
  end
  view.apply(response, cfg)
end

--- :WorkflowResume without argument: choose among the unfinished runs.
function M.pick_run(cfg)
  local view = require('workflow.view')
  local response = M.call('unfinished', {}, cfg)
  if response.error then
    return view.apply(response, cfg)
  end
  local runs = response.unfinished or {}
  if #runs == 0 then
    return view.apply(response, cfg) -- says where it looked
  end
  view.apply({ warning = response.warning }, cfg) -- run directories it could not read
  vim.ui.select(runs, {
    prompt = 'Resume which run?',
    format_item = function(r)
      return ('%s  %s  %d/%d done, next: %s'):format(r.run, r.title, r.done, r.total, r.next)
    end,
  }, function(choice)
    if choice then
      vim.cmd('redraw') -- the list is gone before the message: no hit-enter prompt
      view.apply(M.call('resume', { choice.run }, cfg), cfg)
    end
  end)
end

local function filter(list, arglead)
  return vim.tbl_filter(function(x)
    return vim.startswith(x, arglead)
  end, list)
end

--- Completion for a command; `sub` is nil for :Workflow itself.
--- The candidates come from the Python side, which owns the rules (where workflows are,
--- which steps may be reverted, how runs sort); only command names are known here.
function M.complete(sub, arglead, cmdline, pos)
  if not sub then
    local words = vim.split(cmdline:sub(1, pos), '%s+', { trimempty = false })
    if #words <= 2 then
      return filter(names(), arglead)
    end
    if #words > 3 then
      return {}
    end
    sub = words[2]
  end
  local spec = M.by_name[sub]
  if not spec or spec.complete == '' then
    return {}
  end
  local ok, cfg = pcall(config.options)
  if not ok then
    return {}
  end
  return host.complete(spec.complete, arglead, cfg, { args = { sub } })
end

return M
