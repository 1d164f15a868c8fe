-- Minimal config for the end-to-end tests and `make demo`: this checkout on
-- the runtime path and the test Python as the python3 host, nothing else.
local root = vim.fs.dirname(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)))
vim.opt.runtimepath:prepend(root)
vim.g.python3_host_prog = vim.env.WORKFLOW_PYTHON or (root .. '/.venv/bin/python')
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
