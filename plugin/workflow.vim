" workflow.nvim for Vim 9: walk through a linear YAML workflow, one step buffer
" at a time. Only definitions here: commands, <Plug> maps, highlight defaults
" and WorkflowState(). Nothing is read and no Python starts until a command is
" used; see autoload/workflow/ and :help workflow-vim. Neovim has its own
" front (plugin/workflow.lua): this file returns at once there.
if has('nvim') || exists('g:loaded_workflow')
  finish
endif
if v:version < 900 || !has('vim9script') || !has('channel') || !has('job') || !has('textprop')
  " One clear line instead of errors at every command.
  let s:why = 'needs Vim 9 with +channel, +job and +textprop, or Neovim 0.10: '
        \ .. 'see :help workflow-install'
  for s:name in ['Workflow', 'WorkflowStart', 'WorkflowResume', 'WorkflowList']
    execute 'command! -nargs=* ' .. s:name
          \ .. ' echohl ErrorMsg | echomsg "[workflow] ' .. s:why .. '" | echohl None'
  endfor
  finish
endif
vim9script
g:loaded_workflow = 1

# The commands of lua/workflow/commands.lua and protocol.py's COMMANDS, with the
# same names, arguments and ranges (tests/e2e/test_vim_front.py checks them).
# Arguments are checked by autoload/workflow/command.vim, so that a missing or
# extra one gets a [workflow] message rather than E471/E488.
command! -nargs=* -complete=customlist,workflow#command#Complete Workflow workflow#command#Run('', [<f-args>])
command! -nargs=* -bar -complete=customlist,workflow#command#Complete WorkflowStart workflow#command#Run('start', [<f-args>])
command! -nargs=0 -bar -bang WorkflowNext workflow#command#Run('next', [<f-args>], 0, 0, -1, <bang>0)
command! -nargs=0 -bar WorkflowPrev workflow#command#Run('prev', [<f-args>])
command! -nargs=* -bar -complete=customlist,workflow#command#Complete WorkflowGoto workflow#command#Run('goto', [<f-args>])
command! -nargs=0 -bar WorkflowStatus workflow#command#Run('status', [<f-args>])
command! -nargs=0 -bar WorkflowList workflow#command#Run('list', [<f-args>])
command! -nargs=0 -bar WorkflowStop workflow#command#Run('stop', [<f-args>])
command! -nargs=* -bar -complete=customlist,workflow#command#Complete WorkflowRevert workflow#command#Run('revert', [<f-args>])
command! -nargs=0 -bar WorkflowLog workflow#command#Run('log', [<f-args>])
command! -nargs=0 -bar WorkflowRefresh workflow#command#Run('refresh', [<f-args>])
command! -nargs=* -bar -complete=customlist,workflow#command#Complete WorkflowResume workflow#command#Run('resume', [<f-args>])
command! -nargs=* -range=% -complete=customlist,workflow#command#Complete WorkflowAnnotate workflow#command#Run('annotate', [<f-args>], <line1>, <line2>, <range>)
command! -nargs=0 -bar WorkflowAnnotateCancel workflow#command#Run('annotate_cancel', [<f-args>])
command! -nargs=0 -bar WorkflowAnnotateClear workflow#command#Run('annotate_clear', [<f-args>])
command! -nargs=0 -bar WorkflowModels workflow#command#Run('models', [<f-args>])
command! -nargs=* -bar WorkflowNew workflow#command#Run('new', [<f-args>])
command! -nargs=0 -bar WorkflowInstall workflow#command#Run('install', [<f-args>])
command! -nargs=0 -bar WorkflowHealth workflow#command#Run('health', [<f-args>])
command! -nargs=0 -bar WorkflowCheck workflow#command#Run('check', [<f-args>])
command! -nargs=0 -bar WorkflowSkip workflow#command#Run('skip', [<f-args>])
command! -nargs=0 -bar WorkflowRun workflow#command#Run('run', [<f-args>])
command! -nargs=0 -bar WorkflowCancel workflow#command#Run('cancel', [<f-args>])
command! -nargs=0 -bar WorkflowRuns workflow#command#Run('runs', [<f-args>])
command! -nargs=* -bar -bang -complete=customlist,workflow#command#Complete WorkflowTrust workflow#command#Run('trust', [<f-args>], 0, 0, -1, <bang>false)
command! -nargs=0 -bar WorkflowReopen workflow#command#Run('reopen', [<f-args>])
command! -nargs=* -bar -complete=customlist,workflow#command#Complete WorkflowExport workflow#command#Run('export', [<f-args>])

nnoremap <silent> <Plug>(WorkflowAnnotate) <Cmd>WorkflowAnnotate<CR>
xnoremap <silent> <Plug>(WorkflowAnnotate) :WorkflowAnnotate<CR>
nnoremap <silent> <Plug>(WorkflowAnnotateCancel) <Cmd>WorkflowAnnotateCancel<CR>
nnoremap <silent> <Plug>(WorkflowNext) <Cmd>WorkflowNext<CR>
nnoremap <silent> <Plug>(WorkflowPrev) <Cmd>WorkflowPrev<CR>
nnoremap <silent> <Plug>(WorkflowStatus) <Cmd>WorkflowStatus<CR>

# WorkflowComment: the colours of Comment, with a colour of its own where
# Comment has none or has Normal's, so that the instructions never look like
# the person's text. Cyan, as in plugin/workflow.lua: 6 and 14 are in every
# 16-colour palette and never the background. Made again when the colours or
# 'background' change.
def Highlights()
  var comment = hlget('Comment', true)->get(0, {})
  var normal = hlget('Normal', true)->get(0, {})
  var dark = &background != 'light'
  var ctermfg = get(comment, 'ctermfg', '')
  if ctermfg == '' || ctermfg == get(normal, 'ctermfg', '')
    ctermfg = dark ? '14' : '6'
  endif
  var guifg = get(comment, 'guifg', '')
  if guifg == '' || guifg == get(normal, 'guifg', '')
    guifg = dark ? '#8cf8f7' : '#007373'
  endif
  var cterm = get(comment, 'cterm', {})->keys()->join(',')
  var gui = get(comment, 'gui', {})->keys()->join(',')
  execute $'highlight WorkflowComment ctermfg={ctermfg} guifg={guifg}'
    .. (cterm == '' ? ' cterm=NONE' : $' cterm={cterm}')
    .. (gui == '' ? ' gui=NONE' : $' gui={gui}')
  highlight default link WorkflowInstructions WorkflowComment
  highlight default link WorkflowInstructionsTitle Title
  highlight default link WorkflowProgress StatusLine
  highlight default link WorkflowDone MoreMsg
  highlight default link WorkflowStale WarningMsg
  highlight default link WorkflowAnnotateProgress WorkflowComment
  highlight default link WorkflowAnnotateSummary Title
  # The model's notes in Vim (signs and their text at the end of lines): one
  # colour a severity, in every 16-colour palette and away from the
  # background; made again with 'background', unless you set your own.
  for [name, light, dark_fg, gui_light, gui_dark] in [
      ['WorkflowNoteError', '1', '9', '#b00000', '#ff6b6b'],
      ['WorkflowNoteWarning', '3', '11', '#8a6d00', '#e0c000'],
      ['WorkflowNoteInfo', '4', '12', '#1f4fbf', '#7aa7ff'],
      ['WorkflowNoteHint', '2', '10', '#1e7a1e', '#7ad67a']]
    var now = hlget(name, true)->get(0, {})
    if get(now, 'cleared', false) || empty(now) || index([light, dark_fg], get(now, 'ctermfg', '')) >= 0
      execute $'highlight {name} ctermfg={dark ? dark_fg : light} guifg={dark ? gui_dark : gui_light}'
    endif
  endfor
  # :WorkflowHealth (Neovim's :checkhealth has its own)
  highlight default link WorkflowHealthOk MoreMsg
  highlight default link WorkflowHealthWarning WarningMsg
  highlight default link WorkflowHealthError ErrorMsg
  highlight default link WorkflowHealthHeading Title
enddef
Highlights()
augroup workflow_highlights
  autocmd!
  autocmd ColorScheme * Highlights()
  autocmd OptionSet background Highlights()
augroup END

# Live diagnostics in workflow files (autoload/workflow/check.vim): a YAML
# buffer is looked at when it is read or made, and whether it is a workflow
# file in a search directory is decided there, without starting Python
# (:help workflow-check-live).
augroup workflow_check
  autocmd!
  autocmd BufReadPost,BufNewFile *.yaml,*.yml workflow#check#Opened(str2nr(expand('<abuf>')))
augroup END
# Loaded late (a plugin manager, on a YAML file or a first command): the YAML
# files open now.
for b in getbufinfo({bufloaded: 1})
  if b.name =~ '\.ya\?ml$'
    workflow#check#Opened(b.bufnr)
  endif
endfor

# The current run, as the Python side last described it ({} when none); cheap:
# it never starts Python (:help WorkflowState()).
def g:WorkflowState(): dict<any>
  return workflow#state#Get()
enddef
