"""The command line and the start-up rules (window before TensorFlow)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from convexplorer import __version__
from convexplorer.app import parse_args
from convexplorer.ui.main_window import PANELS


def run_cli(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "convexplorer", *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"ConvExplorer {__version__}"


def test_files_on_the_command_line_are_kept():
    args = parse_args(["a.png", "data/"])
    assert args.files == ["a.png", "data/"]
    assert not args.self_test and args.screenshot is None


def test_nothing_imports_tensorflow_before_the_window():
    modules = ["convexplorer", "convexplorer.app", "convexplorer.ui.main_window"] + [m for _, m, _ in PANELS]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    try:\n        importlib.import_module(m)\n"
        "    except ModuleNotFoundError as e:\n        if not e.name.startswith('convexplorer'): raise\n"
        "print(sorted(n for n in ('tensorflow', 'keras') if n in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_self_test_passes():
    result = run_cli("--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "OK"
    assert any("panels constructed" in line for line in lines)


@pytest.mark.slow
def test_screenshots_render_every_panel_and_leave_the_users_data_alone(tmp_path):
    from PIL import Image

    out = tmp_path / "shots"
    home = os.environ["CONVEXPLORER_HOME"]  # the test session's own user-data folder (conftest)
    before = sorted(os.listdir(home)) if os.path.isdir(home) else []
    result = run_cli("--screenshot", str(out), timeout=400)
    assert result.returncode == 0, result.stderr[-2000:]
    names = sorted(p.name for p in out.glob("*.png"))
    for key, _, _ in PANELS:
        assert any(n[3:].startswith(key) for n in names), f"no screenshot of {key}"
    with Image.open(out / names[0]) as first:
        assert first.size == (1400, 900)
    ours = [ln for ln in result.stderr.splitlines() if ln.startswith("warning: ") and "absl" not in ln]
    assert not ours, ours  # every prepare step worked
    assert (sorted(os.listdir(home)) if os.path.isdir(home) else []) == before  # no run, no log added
    assert not list(out.glob(".*"))  # no scratch settings left beside the pictures
