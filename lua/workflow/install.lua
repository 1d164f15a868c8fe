-- :WorkflowInstall: the plugin's own Python environment, made in the background.
--
-- Python does the work: `python3 -m workflow_nvim install --venv DIR --json-progress`
-- (rplugin/python3/workflow_nvim/install.py), run with python3 on PATH (else
-- g:python3_host_prog): it needs only the standard library. This module shows
-- its progress, says how it ended in one line, and makes the next command
-- choose its Python again (host.forget).
local M = {}

local host = require('workflow.host')

---@class workflow.InstallResult
---@field ok boolean
---@field message string

local running = nil ---@type vim.SystemObj?

local say = require('workflow.message').say

-- A progress line, cut to the room there is: a longer one would scroll into "Press ENTER".
local function show(text, keep)
  vim.api.nvim_echo(require('workflow.message').fit({ { '[workflow] ' .. text } }), keep, {})
end

--- The Python that runs the installer, and where it comes from; nil when there is none.
---@return string?, string?
function M.python()
  local path = vim.fn.exepath('python3')
  if path ~= '' then
    return path, 'python3 on PATH'
  end
  local prog = vim.g.python3_host_prog
  if type(prog) == 'string' and prog ~= '' and vim.fn.executable(vim.fn.expand(prog)) == 1 then
    return vim.fn.expand(prog), 'g:python3_host_prog'
  end
  return nil
end

--- Whether an install is running now.
function M.running()
  return running ~= nil
end

--- Make (or check) the plugin's own environment, in the background.
--- `opts.wait`: block until it is done; by default only a Neovim without a UI waits (`nvim --headless
--- +WorkflowInstall +qa` in a script). `opts.on_done` is called with the result.
---@param opts? { wait?: boolean, on_done?: fun(result: workflow.InstallResult) }
---@return workflow.InstallResult? result the result, with `wait`
function M.run(opts)
  opts = opts or {}
  local result ---@type workflow.InstallResult?
  local function finish(ok, text)
    result = { ok = ok, message = text }
    say(text, ok and vim.log.levels.INFO or vim.log.levels.ERROR)
    if opts.on_done then
      opts.on_done(result)
    end
  end
  if host.own_python then
    finish(true, 'nothing to install: this build of the plugin has its own Python')
    return result
  end
  if running then
    say(':WorkflowInstall is already running: wait for it', vim.log.levels.WARN)
    return nil
  end
  local python = M.python()
  if not python then
    finish(false, 'no python3 on PATH: install Python 3.9 or newer, then :WorkflowInstall')
    return result
  end
  local venv = host.venv()
  local final ---@type table?
  local pending = ''
  local stderr = {} ---@type string[]

  local function progress(line)
    local ok, msg = pcall(vim.json.decode, line)
    if not ok or type(msg) ~= 'table' then
      return
    end
    if msg.progress then
      -- Stages are kept in :messages; pip's lines only pass by.
      show(msg.progress, not msg.detail)
    elseif msg.ok ~= nil then
      final = msg
    end
  end

  show('installing with ' .. vim.fn.fnamemodify(python, ':~'), true)
  local ok, obj = pcall(vim.system, { python, '-m', 'workflow_nvim', 'install', '--venv', venv, '--json-progress' }, {
    text = true,
    -- The installer's own Python needs only this package; pip and uv get a clean environment from it.
    env = { PYTHONPATH = host.package_dir },
    stdout = function(_, data)
      if not data then
        return
      end
      pending = pending .. data
      local lines = vim.split(pending, '\n', { plain = true })
      pending = table.remove(lines)
      vim.schedule(function()
        for _, line in ipairs(lines) do
          progress(line)
        end
      end)
    end,
    stderr = function(_, data)
      if data then
        vim.list_extend(stderr, vim.split(data, '\n', { trimempty = true }))
      end
    end,
  }, function(done)
    vim.schedule(function()
      running = nil
      if pending ~= '' then
        progress(pending)
      end
      -- Whatever happened, the next command chooses its Python again, and a new server uses it.
      host.forget()
      if final and final.ok then
        if type(vim.g.workflow) == 'table' and vim.g.workflow.python then
          finish(true, 'ready, but vim.g.workflow.python is set and used instead')
        else
          finish(true, final.message)
        end
      elseif final then
        finish(false, final.error)
      else
        local why = stderr[#stderr] or ('exit code %d'):format(done.code)
        finish(false, ('the installer failed: %s'):format(vim.trim(why)))
      end
    end)
  end)
  if not ok then
    finish(false, ('cannot run %s: %s'):format(python, tostring(obj)))
    return result
  end
  running = obj
  local wait = opts.wait
  if wait == nil then
    wait = #vim.api.nvim_list_uis() == 0
  end
  if wait then
    vim.wait(60 * 60 * 1000, function()
      return result ~= nil
    end, 100)
  end
  return result
end

return M
