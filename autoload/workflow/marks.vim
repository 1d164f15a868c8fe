vim9script
# Located messages in a buffer, drawn the way Vim stands in for Neovim's
# diagnostics: the model's notes (annotate.vim) and a workflow file's problems
# (check.vim) each are a set of these, drawn alike and apart.
#
# Each message is a sign in the set's group (the sign column, and where the
# message is: a sign follows its line as lines are added or deleted above it,
# and moves to the next line when its own is deleted, as Neovim's extmarks do),
# its text at the end of the line (a text property with text, of the set's own
# types, put back from the signs after each change: a property goes with a
# deleted line), and an entry of the window's location list titled after the
# set (another title's list is never replaced: the set's own is found in the
# window's stack, or a new one is made).

export const SEVERITIES = ['error', 'warning', 'info', 'hint']
const SIGN_TEXT = {error: 'E', warning: 'W', info: 'I', hint: 'H'}
# The more severe message of a line shows its sign (Vim 9.0 shows one per line).
const PRIORITY = {error: 14, warning: 13, info: 12, hint: 11}

def Capital(s: string): string
  return toupper(s[0]) .. s[1 :]
enddef

# The sign of a severity, in every set (its colour: plugin/workflow.vim).
export def SignName(severity: string): string
  return 'WorkflowNote' .. Capital(severity)
enddef

for sev in SEVERITIES
  sign_define(SignName(sev), {text: SIGN_TEXT[sev], texthl: SignName(sev)})
endfor

# group -> the set: {group, title, props, shown: {buffer -> {notes: [{sign,
# severity, note, line}], count}}}
var sets: dict<dict<any>> = {}

# The set of sign group `group`, its location lists titled `title`, its text
# properties of types `props` .. severity: made once, then the same one.
export def New(group: string, title: string, props: string): dict<any>
  if !has_key(sets, group)
    for sev in SEVERITIES
      if empty(prop_type_get(props .. sev))
        prop_type_add(props .. sev, {highlight: SignName(sev)})
      endif
    endfor
    sets[group] = {group: group, title: title, props: props, shown: {}}
  endif
  return sets[group]
enddef

def Valid(buf: number): bool
  return bufexists(buf) && bufloaded(buf)
enddef

def Same(have: list<dict<any>>, want: list<dict<any>>): bool
  if len(have) != len(want)
    return false
  endif
  for i in range(len(have))
    if have[i].lnum != want[i].lnum || have[i].text !=# want[i].text || have[i].type !=# want[i].type
      return false
    endif
  endfor
  return true
enddef

# The set's list in the stack of window `win`: its number, or 0.
def OwnList(m: dict<any>, win: number): number
  for nr in range(getloclist(win, {nr: '$'}).nr, 1, -1)
    if getloclist(win, {nr: nr, title: 0}).title ==# m.title
      return nr
    endif
  endfor
  return 0
enddef

# The location list of each window showing `buf`: the set's messages, in line order.
export def SetLoclist(m: dict<any>, buf: number)
  var s = get(m.shown, buf, {notes: []})
  var items = s.notes->mapnew((_, n) => ({
    bufnr: buf, lnum: n.line, col: get(n, 'col', 1), text: n.note,
    type: toupper(n.severity[0]),
  }))->sort((a, b) => a.lnum - b.lnum)
  for win in win_findbuf(buf)
    var nr = OwnList(m, win)
    if nr == 0
      if !empty(items)  # a list of its own, after the window's others
        setloclist(win, [], ' ', {title: m.title, items: items})
      endif
      continue
    endif
    var list = getloclist(win, {nr: nr, idx: 0, items: 0})
    if !Same(list.items, items)
      # (the entry :lnext is at stays where it was)
      setloclist(win, [], 'r', {nr: nr, title: m.title, items: items,
        idx: min([list.idx, max([len(items), 1])])})
    endif
  endfor
enddef

# Draw the messages of `buf` where their signs are now: the text at the end
# of each line, and the location list. `always`: even when no line was added
# or deleted and no sign moved (typing in a line keeps its properties).
export def Draw(m: dict<any>, buf: number, always: bool = true)
  if !Valid(buf)
    return
  endif
  var s = get(m.shown, buf, {})
  var count = getbufinfo(buf)[0].linecount
  var lines: dict<number> = {}  # sign id -> its line now
  for sign in get(sign_getplaced(buf, {group: m.group}), 0, {signs: []}).signs
    lines[sign.id] = sign.lnum
  endfor
  if !always && !empty(s) && get(s, 'count', -1) == count
      && s.notes->indexof((_, n) => get(lines, n.sign, -1) != n.line) < 0
    return
  endif
  for sev in SEVERITIES
    prop_remove({type: m.props .. sev, bufnr: buf, all: true})
  endfor
  if empty(s)
    SetLoclist(m, buf)
    return
  endif
  s.count = count
  for n in s.notes
    n.line = has_key(lines, n.sign) ? lines[n.sign] : min([n.line, count])
    prop_add(n.line, 0, {type: m.props .. n.severity, bufnr: buf, text: '● ' .. n.note,
      text_align: 'after', text_padding_left: 2})
  endfor
  SetLoclist(m, buf)
enddef

# Add messages [{line, severity, note}] to those of `buf` (lines of the text
# as it is now), and draw them.
export def Add(m: dict<any>, buf: number, notes: list<dict<any>>)
  if !Valid(buf)
    return
  endif
  var s = get(m.shown, buf, {notes: []})
  m.shown[buf] = s
  var count = getbufinfo(buf)[0].linecount
  for n in notes
    var row = min([max([n.line, 1]), count])
    var severity = index(SEVERITIES, n.severity) >= 0 ? n.severity : 'info'
    var id = sign_place(0, m.group, SignName(severity), buf, {lnum: row, priority: PRIORITY[severity]})
    s.notes->add(extend({sign: id, severity: severity, note: n.note, line: row},
      has_key(n, 'col') ? {col: n.col} : {}))
  endfor
  Draw(m, buf)
enddef

# The messages of `buf` give way to `notes` (none: the buffer has none).
export def Replace(m: dict<any>, buf: number, notes: list<dict<any>>)
  if has_key(m.shown, buf)
    remove(m.shown, buf)
  endif
  if !Valid(buf)
    return
  endif
  sign_unplace(m.group, {buffer: buf})
  if empty(notes)
    Draw(m, buf)
  else
    Add(m, buf, notes)
  endif
enddef

# Remove the messages of `buf`: its signs, texts and entries.
export def Clear(m: dict<any>, buf: number)
  Replace(m, buf, [])
enddef

# Forget `buf` (it is being unloaded or wiped: what it shows goes with it).
export def Forget(m: dict<any>, buf: number)
  if has_key(m.shown, buf)
    remove(m.shown, buf)
  endif
enddef

# Whether `buf` shows messages of the set.
export def Has(m: dict<any>, buf: number): bool
  return has_key(m.shown, buf)
enddef

# The messages of `buf`: [{line, severity, note}], in line order.
export def List(m: dict<any>, buf: number): list<dict<any>>
  return get(m.shown, buf, {notes: []}).notes
    ->mapnew((_, n) => ({line: n.line, severity: n.severity, note: n.note}))
    ->sort((x, y) => x.line - y.line)
enddef

def Redraw(group: string, buf: number, always: bool)
  var m = sets[group]
  if has_key(m.shown, buf)
    Draw(m, buf, always)
  endif
enddef

def ShowList(group: string, buf: number)
  SetLoclist(sets[group], buf)
enddef

# Keep the messages of `buf` on their lines as it is edited: the signs move
# with them, the text follows (while typing, only when a line was added or
# deleted, or a sign moved); a window that shows it later gets the list.
export def Watch(m: dict<any>, buf: number)
  var flag = 'workflow_marks_' .. m.group
  if getbufvar(buf, flag, false)
    return
  endif
  setbufvar(buf, flag, true)
  var group = 'workflow_marks_' .. m.group
  execute 'augroup ' .. group
  augroup END
  execute printf('autocmd %s TextChanged <buffer=%d> Redraw(%s, %d, true)', group, buf, string(m.group), buf)
  execute printf('autocmd %s TextChangedI,TextChangedP <buffer=%d> Redraw(%s, %d, false)',
    group, buf, string(m.group), buf)
  execute printf('autocmd %s BufWinEnter <buffer=%d> ShowList(%s, %d)', group, buf, string(m.group), buf)
enddef
