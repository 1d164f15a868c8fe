-- luacheck: the Lua side's linter (`make lint`). Neovim runs the plugin on LuaJIT.
std = 'luajit'
read_globals = { 'vim' }
-- Neovim's variable and option tables are written to (vim.b[buf].x = ..., vim.bo[buf].ft = ...).
globals = {
  'vim.g', 'vim.b', 'vim.w', 'vim.t', 'vim.v', 'vim.env',
  'vim.o', 'vim.go', 'vim.bo', 'vim.wo', 'vim.opt', 'vim.opt_local', 'vim.opt_global',
}
max_line_length = 120
