vim9script
# The JSON Schema of workflow files, for a YAML language server's settings
# (:help workflow-schema): workflow#schema#Path() is its absolute path, as
# require('workflow').schema_path() is in Neovim.

const ROOT = resolve(expand('<sfile>:p:h:h:h'))

export def Path(): string
  return ROOT .. '/workflow.schema.json'
enddef
