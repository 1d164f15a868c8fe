-- Options: vim.g.workflow, checked here so that a mistake is said at once, without
-- starting Python. Python applies the defaults (workflow_nvim/options.py): the
-- front sends the options as the person set them.
local M = {}

--- The plugin's root directory (the one holding plugin/, rplugin/, workflows/).
---@type string
M.root = vim.fs.dirname(vim.fs.dirname(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))))
if not vim.uv.fs_stat(M.root .. '/rplugin/python3/workflow_nvim') then
  -- Installed as a rock (luarocks, rocks.nvim), the Lua modules live apart from the rest,
  -- whose directory is on the runtimepath.
  local main = vim.api.nvim_get_runtime_file('rplugin/python3/workflow_nvim/__main__.py', false)[1]
  M.root = main and vim.fs.dirname(vim.fs.dirname(vim.fs.dirname(vim.fs.dirname(main)))) or M.root
end
M.root = vim.uv.fs_realpath(M.root) or M.root

---The options in effect: vim.g.workflow over the defaults, which Python applies (options.py; :help g:workflow).
---@class workflow.Config
---@field runs_dir string where runs are made
---@field paths string[] more directories searched for workflows, after the project's and yours
---@field default_mappings boolean buffer-local <LocalLeader> maps in step buffers
---@field model string the Ollama model for :WorkflowAnnotate
---@field ollama_host? string the Ollama server's URL
---@field allow_remote boolean text may go to another machine, or a cloud model
---@field annotate_timeout number seconds to wait for the model's first token
---@field annotate_temperature number the model's temperature (0: the same answer to the same request)
---@field annotate_seed integer the model's random seed
---@field run_timeout number seconds a step's command may run before it is killed
---@field python? string the Python interpreter that runs the server
---@field check_live boolean workflow files in the search directories are checked as they are edited

---What a person sets, in vim.g.workflow or require('workflow').setup(): any of workflow.Config's fields.
---@class workflow.Options
---@field runs_dir? string
---@field paths? string[]
---@field default_mappings? boolean
---@field model? string
---@field ollama_host? string
---@field allow_remote? boolean
---@field annotate_timeout? number
---@field annotate_temperature? number
---@field annotate_seed? integer
---@field run_timeout? number
---@field python? string
---@field check_live? boolean

--- option -> { Lua type, description }
---@type table<string, { [1]: type, [2]: string }>
M.schema = {
  runs_dir = { 'string', 'a directory path' },
  paths = { 'table', 'a list of directory paths' },
  default_mappings = { 'boolean', 'true or false' },
  model = { 'string', 'an Ollama model name, such as "llama3.2"' },
  ollama_host = { 'string', 'a URL such as "http://127.0.0.1:11434"' },
  allow_remote = { 'boolean', 'true or false' },
  annotate_timeout = { 'number', 'seconds to wait for the first token' },
  annotate_temperature = { 'number', 'a temperature from 0 to 2' },
  annotate_seed = { 'number', 'a whole number' },
  run_timeout = { 'number', "seconds a step's command may run" },
  python = { 'string', 'the path of a Python 3 interpreter' },
  check_live = { 'boolean', 'true or false' },
}

-- Edit distance where swapping two neighbouring letters counts as one edit
-- (optimal string alignment), so "strat" is one edit from "start".
local function distance(a, b)
  local d = {}
  for i = 0, #a do
    d[i] = { [0] = i }
  end
  for j = 0, #b do
    d[0][j] = j
  end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1) and a:sub(i - 1, i - 1) == b:sub(j, j) then
        d[i][j] = math.min(d[i][j], d[i - 2][j - 2] + 1)
      end
    end
  end
  return d[#a][#b]
end

--- ", did you mean 'x'?" for the closest of `choices`, or ''.
---@param word string
---@param choices string[]
---@return string
function M.did_you_mean(word, choices)
  local best, best_d
  for _, c in ipairs(choices) do
    local d = distance(word, c)
    if d <= math.max(1, math.floor(#c / 3)) and (not best_d or d < best_d) then
      best, best_d = c, d
    end
  end
  return best and (", did you mean '%s'?"):format(best) or ''
end

--- Check options; return nil or a one-line message naming the bad field.
---@param opts any vim.g.workflow, or what setup() was given
---@return string?
function M.validate(opts)
  if opts == nil then
    return nil
  end
  if type(opts) ~= 'table' then
    return ('vim.g.workflow must be a table, got %s'):format(type(opts))
  end
  local names = vim.tbl_keys(M.schema)
  table.sort(names)
  for key, value in pairs(opts) do
    local want = M.schema[key]
    if not want then
      return ('unknown option vim.g.workflow.%s%s (options: %s)'):format(
        tostring(key),
        M.did_you_mean(tostring(key), names),
        table.concat(names, ', ')
      )
    end
    if type(value) ~= want[1] then
      return ('vim.g.workflow.%s must be %s, got %s'):format(key, want[2], vim.inspect(value))
    end
  end
  if opts.paths then
    for i, p in ipairs(opts.paths) do
      if type(p) ~= 'string' then
        return ('vim.g.workflow.paths[%d] must be a directory path, got %s'):format(i, vim.inspect(p))
      end
    end
  end
  if opts.runs_dir and opts.runs_dir == '' then
    return 'vim.g.workflow.runs_dir must not be empty'
  end
  return nil
end

--- vim.g.workflow as the person set it (a dict, for Python); raises a one-line error message if
--- it is invalid. The front reads only its own options from it: `python`, and `default_mappings`
--- (nil means true).
---@return table
function M.options()
  local user = vim.g.workflow
  local err = M.validate(user)
  if err then
    error(err, 0)
  end
  return user or vim.empty_dict()
end

return M
