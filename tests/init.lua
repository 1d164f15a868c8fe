-- Minimal config for the end-to-end tests and `make demo`: this checkout on
-- the runtime path and the test Python as the python3 host, nothing else.
local root = vim.fs.dirname(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)))
vim.opt.runtimepath:prepend(root)
-- WORKFLOW_PYTHON=none: no g:python3_host_prog at all (a Neovim that has no python3 provider).
local python = vim.env.WORKFLOW_PYTHON or (root .. '/.venv/bin/python')
if python ~= 'none' then
  vim.g.python3_host_prog = python
end
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
