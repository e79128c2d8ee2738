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
