"""Launch-to-window and launch-to-TensorFlow-ready times: the frozen build vs the pip-installed app.

Runs both apps alternately N times each, the same way as benchmarks/startup.py (the hidden
``--startup-report FILE`` flag writes wall-clock stamps when the window is shown and when
TensorFlow is ready, then the app quits), offscreen unless a display is set.

    python benchmarks/frozen_startup.py [--runs 3] [--frozen dist/convexplorer/convexplorer]
                                        [--pip "convexplorer"]

``--pip`` is the command of the pip-installed app (default: this Python's ``-m convexplorer``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(command: list[str], tmp: Path, tag: str) -> tuple[float, float]:
    """Start ``command`` once; return (seconds to window shown, seconds to TensorFlow ready)."""
    report = tmp / f"{tag}.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["CONVEXPLORER_HOME"] = str(tmp / "home")
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    t0 = time.time()
    subprocess.run(
        [*command, "--startup-report", str(report)],
        env=env, check=True, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    data = json.loads(report.read_text())
    return data["window_shown_epoch"] - t0, data["tf_ready_epoch"] - t0


def main() -> None:
    """Measure both apps and print the medians and the frozen/pip ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frozen", default=str(ROOT / "dist" / "convexplorer" / "convexplorer"))
    parser.add_argument("--pip", default=f"{shlex.quote(sys.executable)} -m convexplorer")
    args = parser.parse_args()
    apps = {"frozen": [args.frozen], "pip": shlex.split(args.pip)}
    if not Path(args.frozen).exists():
        raise SystemExit(f"no frozen build at {args.frozen}: run packaging/build.sh first")
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in apps}
    with tempfile.TemporaryDirectory() as tmp:
        for name, command in apps.items():  # warm the file cache, as a second launch would be
            one_run(command, Path(tmp), f"{name}-warm")
        for i in range(args.runs):
            for name, command in apps.items():
                results[name].append(one_run(command, Path(tmp), f"{name}-{i}"))
    print(f"runs: {args.runs} each, alternating  (platform: {os.environ.get('QT_QPA_PLATFORM', 'offscreen')})")
    med = {}
    for name, rows in results.items():
        window = statistics.median(r[0] for r in rows)
        tf_ready = statistics.median(r[1] for r in rows)
        med[name] = (window, tf_ready)
        print(f"{name:6s}: launch -> window {window:.2f} s (max {max(r[0] for r in rows):.2f}),"
              f" launch -> TF ready {tf_ready:.2f} s (max {max(r[1] for r in rows):.2f})")
    print(f"frozen / pip: window x{med['frozen'][0] / med['pip'][0]:.2f}, TF ready x{med['frozen'][1] / med['pip'][1]:.2f}")
    print("window budget 1.5 s:", "PASS" if max(r[0] for r in results["frozen"]) < 1.5 else "OVER BUDGET", "(frozen)")


if __name__ == "__main__":
    main()
