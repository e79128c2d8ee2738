"""Saving never leaves a half-written file: the previous version survives every failure."""

from __future__ import annotations

import errno
import os

import pytest

from convexplorer.core import workspace
from convexplorer.core.workspace import SaveError, atomic_write_json, atomic_write_text, read_json


def test_round_trip(tmp_path):
    path = tmp_path / "design.json"
    atomic_write_json(path, {"format_version": 1, "layers": [1, 2]})
    assert read_json(path) == {"format_version": 1, "layers": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["design.json"]


def test_unwritable_place_is_a_readable_error(tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(SaveError, match="cannot save work.cxw"):
        atomic_write_text(blocker / "work.cxw", "new")
    assert blocker.read_text() == "a file where a folder should be"


def test_full_disk_while_writing_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "work.cxw"
    atomic_write_text(path, "old")
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workspace.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(SaveError, match="No space left on device; the previous file is unchanged"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["work.cxw"]  # no temporary file left behind


def test_failed_replace_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "work.cxw"
    atomic_write_text(path, "old")

    def refuse(src, dst):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(workspace.os, "replace", refuse)
    with pytest.raises(SaveError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["work.cxw"]


def test_unreadable_json_is_a_readable_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not json")
    with pytest.raises(workspace.ConvExplorerError, match="bad.json is not a valid JSON file"):
        read_json(bad)


def test_upgrade_checks_the_version_and_applies_each_step_in_turn(monkeypatch):
    current = {"format_version": workspace.FORMAT_VERSION, "spec": None, "panels": {}}
    assert workspace.upgrade_workspace(current) == current
    for bad in ({}, [], {"format_version": "1"}, {"format_version": 0}, {"format_version": True}):
        with pytest.raises(workspace.FormatError, match="not a ConvExplorer workspace"):
            workspace.upgrade_workspace(bad, "x.cxw")
    with pytest.raises(workspace.FormatError, match=r"x.cxw was saved by a newer ConvExplorer \(workspace format 99"):
        workspace.upgrade_workspace({"format_version": 99}, "x.cxw")
    # A made-up history: format 1 kept the design under "design", format 2 called the panels "views".
    monkeypatch.setattr(workspace, "FORMAT_VERSION", 3)
    monkeypatch.setattr(workspace, "WORKSPACE_MIGRATIONS", {
        1: lambda d: {**{k: v for k, v in d.items() if k != "design"}, "spec": d.get("design"), "views": {}},
        2: lambda d: {**{k: v for k, v in d.items() if k != "views"}, "panels": d["views"]},
    })
    old = {"format_version": 1, "design": {"name": "mine"}}
    assert workspace.upgrade_workspace(old) == {"format_version": 3, "spec": {"name": "mine"}, "panels": {}}
    assert old == {"format_version": 1, "design": {"name": "mine"}}  # the caller's dict is left alone
    monkeypatch.setattr(workspace, "WORKSPACE_MIGRATIONS", {1: lambda d: d})
    with pytest.raises(workspace.FormatError, match="format 2, which this version cannot upgrade"):
        workspace.upgrade_workspace(old)


def test_a_workspace_written_before_graphs_opens_as_a_chain_of_the_same_layers():
    """The real format 1 file (written by the release before graphs) upgrades to format 2: the
    design inside becomes a graph design with stable ids that is still the same chain."""
    from pathlib import Path

    from convexplorer.core.spec import FORMAT_VERSION as DESIGN_FORMAT, ModelSpec
    from convexplorer.core.summary import summarize

    path = Path(__file__).resolve().parent.parent / "data" / "workspace-format1.cxw"
    old = read_json(path)
    assert old["format_version"] == 1 and old["spec"]["format_version"] == 1
    new = workspace.upgrade_workspace(old, path.name)
    assert new["format_version"] == workspace.FORMAT_VERSION == 2
    assert new["spec"]["format_version"] == DESIGN_FORMAT == 2
    assert new["panels"] == old["panels"] and new["app_version"] == old["app_version"]
    ids = [layer["id"] for layer in new["spec"]["layers"]]
    assert len(set(ids)) == len(ids) == len(old["spec"]["layers"])
    spec = ModelSpec.from_dict(new["spec"])
    assert spec.is_chain()
    assert [(layer.kind, layer.name) for layer in spec.layers] == [(d["kind"], d.get("name", "")) for d in old["spec"]["layers"]]
    assert summarize(spec).total == summarize(ModelSpec.from_dict(old["spec"])).total
    assert workspace.upgrade_workspace(new) == new  # format 2 needs no step
