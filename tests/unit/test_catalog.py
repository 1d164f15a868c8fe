"""Finding workflows: nearer directories win, broken files are listed, changes are seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from workflow_nvim import spec
from workflow_nvim.catalog import BUNDLED_DIR, Catalog, SearchDir, default_dirs
from workflow_nvim.errors import WorkflowError
from workflow_nvim.spec import LOADERS, WorkflowInvalid

from tests import hostile


def workflow(title: str, name: str | None = None) -> str:
    head = f"name: {name}\n" if name else ""
    return head + f"title: {title}\nsteps:\n  - id: a\n    title: A\n    instructions: Do it.\n"


BROKEN = "title: Broken\nsteps:\n  - id: a\n    title: A\n    intructions: x\n"


@pytest.fixture
def dirs(tmp_path: Path) -> list[SearchDir]:
    return [SearchDir("project", tmp_path / "project"), SearchDir("bundled", tmp_path / "bundled")]


def test_project_workflow_shadows_the_bundled_one_with_the_same_name(write, dirs):
    project, bundled = dirs[0].path, dirs[1].path
    write("blog.yaml", workflow("Project blog"), project)
    write("blog.yaml", workflow("Bundled blog"), bundled)
    write("notes.yaml", workflow("Bundled notes"), bundled)
    catalog = Catalog()

    entries = catalog.entries(dirs)
    assert [(e.name, e.kind, e.path, e.ok) for e in entries] == [
        ("blog", "project", project / "blog.yaml", True),
        ("notes", "bundled", bundled / "notes.yaml", True),
    ]
    assert entries[0].workflow is not None and entries[0].workflow.title == "Project blog"
    assert entries[0].shadowed == [bundled / "blog.yaml"]
    assert entries[1].shadowed == []

    assert catalog.find(dirs, "blog").title == "Project blog"
    assert catalog.find(dirs, "notes").title == "Bundled notes"


def test_order_of_the_search_dirs_decides(write, dirs):
    write("blog.yaml", workflow("Project blog"), dirs[0].path)
    write("blog.yaml", workflow("Bundled blog"), dirs[1].path)
    assert Catalog().find(list(reversed(dirs)), "blog").title == "Bundled blog"


def test_a_broken_workflow_is_listed_with_its_problem_and_hides_nothing(write, dirs):
    project, bundled = dirs[0].path, dirs[1].path
    write("alpha.yaml", workflow("Alpha"), project)
    broken = write("broken.yaml", BROKEN, project)
    write("zeta.yaml", workflow("Zeta"), bundled)

    entries = Catalog().entries(dirs)
    assert [(e.name, e.ok) for e in entries] == [("alpha", True), ("broken", False), ("zeta", True)]
    bad = entries[1]
    assert bad.workflow is None
    assert bad.path == broken
    assert [str(p) for p in bad.problems] == [
        f"{broken}:5:5: unknown key 'intructions', did you mean 'instructions'? "
        "(keys of step 1: id, title, instructions, template, filetype, annotate, model, check, run, autorun, optional)",
        f"{broken}:3:5: step 1 is missing the required key 'instructions'",
    ]


def test_a_broken_project_workflow_still_shadows_the_bundled_one(write, dirs):
    write("blog.yaml", BROKEN, dirs[0].path)
    write("blog.yaml", workflow("Bundled blog"), dirs[1].path)
    catalog = Catalog()
    (entry,) = catalog.entries(dirs)
    assert (entry.kind, entry.ok, entry.shadowed) == ("project", False, [dirs[1].path / "blog.yaml"])
    with pytest.raises(WorkflowInvalid) as info:
        catalog.find(dirs, "blog")
    assert str(info.value).startswith(f"{dirs[0].path / 'blog.yaml'}:5:5: unknown key 'intructions'")


def test_only_visible_yaml_files_count_and_missing_dirs_are_fine(write, tmp_path):
    d = tmp_path / "wf"
    write("a.yaml", workflow("A"), d)
    write("b.yml", workflow("B"), d)
    write(".hidden.yaml", workflow("Hidden"), d)
    write("readme.md", "# not a workflow", d)
    write("c.yaml.bak", workflow("C"), d)
    dirs = [SearchDir("path", tmp_path / "missing"), SearchDir("path", d)]
    assert [(e.name, e.path.name) for e in Catalog().entries(dirs)] == [("a", "a.yaml"), ("b", "b.yml")]


def test_yaml_is_preferred_over_yml_in_the_same_dir(write, tmp_path):
    write("a.yaml", workflow("From yaml"), tmp_path)
    write("a.yml", workflow("From yml"), tmp_path)
    dirs = [SearchDir("project", tmp_path)]
    catalog = Catalog()
    (entry,) = catalog.entries(dirs)
    assert entry.path.name == "a.yaml"
    assert entry.shadowed == [tmp_path / "a.yml"]
    assert catalog.find(dirs, "a").title == "From yaml"


def test_find_unknown_name_suggests_a_close_one(write, dirs):
    write("blog-post.yaml", workflow("Blog"), dirs[1].path)
    with pytest.raises(WorkflowError) as info:
        Catalog().find(dirs, "blog-pots")
    where = f"{dirs[0].path}, {dirs[1].path}"
    assert str(info.value) == f"no workflow 'blog-pots', did you mean 'blog-post'? (searched {where})"


def test_find_unknown_name_without_a_close_one(dirs):
    with pytest.raises(WorkflowError) as info:
        Catalog().find(dirs, "zzz")
    assert str(info.value) == f"no workflow 'zzz' (searched {dirs[0].path}, {dirs[1].path})"


@pytest.mark.parametrize("name", ["../etc/passwd", "Blog", "a b", ""])
def test_find_rejects_names_that_are_not_workflow_names(dirs, name):
    with pytest.raises(WorkflowError) as info:
        Catalog().find(dirs, name)
    assert str(info.value) == f"'{name}' is not a workflow name: try :WorkflowList"


def test_cache_is_used_while_the_file_is_unchanged(write, tmp_path):
    path = write("a.yaml", workflow("One"), tmp_path)
    catalog = Catalog()
    assert catalog.load(path) is catalog.load(path)


def test_cache_is_invalidated_when_the_file_changes(write, tmp_path):
    path = write("a.yaml", workflow("One"), tmp_path)
    catalog = Catalog()
    first = catalog.load(path)
    stamp = path.stat().st_mtime_ns
    # same size, later modification time
    write("a.yaml", workflow("Two"), tmp_path)
    os.utime(path, ns=(stamp + 2_000_000_000, stamp + 2_000_000_000))
    second = catalog.load(path)
    assert (first.title, second.title) == ("One", "Two")


def test_cache_sees_a_fix_and_a_breakage(write, tmp_path):
    dirs = [SearchDir("project", tmp_path)]
    path = write("a.yaml", BROKEN, tmp_path)
    catalog = Catalog()
    assert not catalog.entries(dirs)[0].ok
    stamp = path.stat().st_mtime_ns
    write("a.yaml", workflow("Fixed"), tmp_path)
    os.utime(path, ns=(stamp + 2_000_000_000, stamp + 2_000_000_000))
    assert catalog.find(dirs, "a").title == "Fixed"
    path.unlink()
    with pytest.raises(WorkflowInvalid) as info:
        catalog.load(path)
    assert "cannot read file" in str(info.value)


def test_default_dirs_search_the_plugins_config_place(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NVIM_APPNAME", "mynvim")  # Neovim's older place is not there: not searched
    dirs = default_dirs(cwd=tmp_path / "proj", extra=["~/more"])
    assert dirs == [
        SearchDir("project", tmp_path / "proj" / ".workflows"),
        SearchDir("user", tmp_path / "config" / "workflow.nvim" / "workflows"),
        SearchDir("path", Path("~/more").expanduser()),
        SearchDir("bundled", BUNDLED_DIR),
    ]


def test_default_dirs_search_neovims_older_place_after_the_plugins(monkeypatch, tmp_path, write, blog_yaml):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NVIM_APPNAME", "mynvim")
    old = tmp_path / "config" / "mynvim" / "workflows"
    new = tmp_path / "config" / "workflow.nvim" / "workflows"
    write("blog.yaml", blog_yaml.replace("Write a blog post", "Old"), old)
    write("older.yaml", blog_yaml.replace("name: blog\n", ""), old)
    write("blog.yaml", blog_yaml.replace("Write a blog post", "New"), new)
    dirs = default_dirs(cwd=tmp_path / "proj")
    assert dirs[1:3] == [SearchDir("user", new), SearchDir("user", old)]
    entries = {e.name: e for e in Catalog().entries(dirs)}
    assert entries["blog"].path == new / "blog.yaml" and entries["blog"].shadowed == [old / "blog.yaml"]
    assert entries["older"].path == old / "older.yaml" and entries["older"].kind == "user"


def test_default_dirs_without_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("NVIM_APPNAME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_dirs(cwd=tmp_path)[1] == SearchDir("user", tmp_path / ".config" / "workflow.nvim" / "workflows")


def test_bundled_dir_is_the_repository_workflows_dir():
    assert Path(__file__).resolve().parents[2] / "workflows" == BUNDLED_DIR
    assert BUNDLED_DIR.is_dir()


# -- hostile files (issue 10) -------------------------------------------------------------

LIST_AND_FIND = """
import sys
from pathlib import Path
from workflow_nvim.catalog import Catalog, SearchDir
from workflow_nvim.errors import WorkflowError

dirs = [SearchDir("project", Path(sys.argv[1])), SearchDir("bundled", Path(sys.argv[2]))]
catalog = Catalog()
for e in catalog.entries(dirs):
    print(e.name, e.kind, "ok" if e.ok else e.problems[0].message)
for name in sys.argv[3:]:
    try:
        print(name, "found:", catalog.find(dirs, name).title)
    except WorkflowError as e:
        print(name, "error:", e)
"""


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_fifo_or_a_link_to_dev_zero_is_refused_unread_and_the_others_load(write, dirs):
    project, bundled = dirs[0].path, dirs[1].path
    write("good.yaml", workflow("Good"), project)
    os.mkfifo(project / "fifo.yaml")  # reading it would wait for a writer forever
    (project / "zero.yaml").symlink_to("/dev/zero")  # size 0, and no end
    write("fifo.yaml", workflow("Bundled fifo"), bundled)
    r = hostile.in_child(LIST_AND_FIND, str(project), str(bundled), "fifo", "zero", "good")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "fifo project cannot read file: it is a FIFO, not a regular file",
        "good project ok",
        "zero project cannot read file: it is a device, not a regular file",
        # :WorkflowStart picks the file :WorkflowList shows, and says why it cannot be used.
        f"fifo error: {project / 'fifo.yaml'}:1:1: cannot read file: it is a FIFO, not a regular file",
        f"zero error: {project / 'zero.yaml'}:1:1: cannot read file: it is a device, not a regular file",
        "good found: Good",
    ]


def test_a_broken_link_named_like_a_workflow_is_an_error_of_that_name(write, dirs):
    project, bundled = dirs[0].path, dirs[1].path
    project.mkdir()
    (project / "blog.yaml").symlink_to(project / "gone.yaml")
    write("blog.yaml", workflow("Bundled blog"), bundled)
    catalog = Catalog()
    assert [(e.name, e.kind, e.ok) for e in catalog.entries(dirs)] == [("blog", "project", False)]
    with pytest.raises(WorkflowInvalid) as info:
        catalog.find(dirs, "blog")
    assert str(info.value) == f"{project / 'blog.yaml'}:1:1: cannot read file: No such file or directory"


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_deep_nesting_breaks_only_its_own_file_in_the_list(write, dirs, monkeypatch, loader):
    monkeypatch.setattr(spec, "LOADER", LOADERS[loader])  # the loader the editor's catalog uses
    project = dirs[0].path
    write("good.yaml", workflow("Good"), project)
    deep = write("deep.yaml", hostile.deep_nesting(500), project)
    found = {e.name: e for e in Catalog().entries(dirs)}
    assert found["good"].ok
    assert [str(p) for p in found["deep"].problems] == [
        f"{deep}:2:57: values nested more than 50 levels deep (a workflow needs 4)"
    ]


def test_a_link_pointed_at_another_file_of_the_same_size_and_time_is_read_again(write, tmp_path):
    one, two = write("one.yaml", workflow("One")), write("two.yaml", workflow("Two"))
    os.utime(two, ns=(one.stat().st_atime_ns, one.stat().st_mtime_ns))
    link = tmp_path / "link.yaml"
    link.symlink_to(one)
    catalog = Catalog()
    assert catalog.load(link).title == "One"
    link.unlink()
    link.symlink_to(two)
    assert catalog.load(link).title == "Two"


@pytest.mark.parametrize("path", sorted(BUNDLED_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_a_bundled_workflow_names_its_step_files_as_they_are(path: Path) -> None:
    """A file name such as 08-ask-the-model.notes.json in a bundled workflow's text is a real step's
    (adding a step before it renumbers the files: the tutorial once named the old number)."""
    import re

    wf = spec.load_workflow(path)
    real = {f"{s.index:02d}-{s.id}" for s in wf.steps}
    named = set(re.findall(r"\b(\d{2}-[a-z0-9-]+?)\.(?:md|notes\.json|txt)\b", path.read_text()))
    assert named <= real, f"{path.name} names {sorted(named - real)}; its steps are {sorted(real)}"
