-- doc/tags for a copy of the plugin that no plugin manager ran :helptags on (a git clone on the
-- runtimepath, a plain :packadd, `make demo`): made, or made again after doc/workflow.txt
-- changed, so that :help workflow works. Only this plugin's own doc/ is written, and only if
-- it is writable; a read-only install (a system package) is left as it is.
local M = {}

local doc = vim.fs.joinpath(vim.fs.dirname(vim.fs.dirname(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)))), 'doc')
local checked = false

local function mtime(path)
  local stat = vim.uv.fs_stat(path)
  return stat and stat.mtime.sec or nil
end

--- Make doc/tags when it is missing or older than the help file; once per session, quietly.
---@return boolean made whether doc/tags was written now
function M.ensure()
  if checked then
    return false
  end
  checked = true
  local help, tags = mtime(vim.fs.joinpath(doc, 'workflow.txt')), mtime(vim.fs.joinpath(doc, 'tags'))
  if not help or (tags and tags >= help) or not vim.uv.fs_access(doc, 'W') then
    return false
  end
  return (pcall(vim.cmd, 'silent helptags ' .. vim.fn.fnameescape(doc)))
end

return M
