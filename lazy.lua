-- The plugin's own spec for lazy.nvim, which reads this file (https://lazy.folke.io/packages):
-- a plain { 'URL-OF-WORKFLOW.NVIM' } in your config then gets the lines below. It applies to the
-- plugin named workflow.nvim, the name lazy.nvim gives a URL or directory ending in it.
return {
  'workflow.nvim',
  -- The Python side's own environment (:WorkflowInstall), made after each install and update.
  build = function()
    require('workflow').install()
  end,
  -- Loaded on the first :Workflow* command. The names come from the one table of commands,
  -- read from the plugin's directory: lazy.nvim runs this before the plugin is on the runtimepath.
  cmd = function(plugin, cmds)
    local ok, commands = pcall(dofile, plugin.dir .. '/lua/workflow/commands.lua')
    local names = vim.list_extend({ 'Workflow' }, cmds or {})
    for _, c in ipairs(ok and commands or {}) do
      names[#names + 1] = c.command
    end
    return names
  end,
  -- And on a YAML file, which may be a workflow file to check as it is written (:help
  -- workflow-check-live); the plugin decides that without starting Python.
  ft = { 'yaml' },
  opts = {},
}
