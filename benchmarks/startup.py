"""Launch-to-window and launch-to-TensorFlow-ready times of ``convexplorer``.

Runs the real app N times (offscreen unless a display is set) with a hidden
``--startup-report FILE`` flag that writes wall-clock stamps when the window is
shown and when TensorFlow is ready, then quits. Budget: window < 1.5 s.

    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(tmp: Path, i: int) -> tuple[float, float]:
    report = tmp / f"startup-{i}.json"
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["CONVEXPLORER_HOME"] = str(tmp / "home")
    t0 = time.time()
    subprocess.run(
        [sys.executable, "-m", "convexplorer", "--startup-report", str(report)],
        env=env, check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    data = json.loads(report.read_text())
    return data["window_shown_epoch"] - t0, data["tf_ready_epoch"] - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one_run(Path(tmp), -1)  # warm the file cache, as a second launch would be
        results = [one_run(Path(tmp), i) for i in range(args.runs)]
    window = [r[0] for r in results]
    tf_ready = [r[1] for r in results]
    print(f"runs: {args.runs}  (platform: {os.environ.get('QT_QPA_PLATFORM', 'offscreen')})")
    print(f"launch -> window shown : median {statistics.median(window):.2f} s, max {max(window):.2f} s  (budget 1.5 s)")
    print(f"launch -> TF ready     : median {statistics.median(tf_ready):.2f} s, max {max(tf_ready):.2f} s")
    print(f"window shown before TF by {statistics.median(tf_ready) - statistics.median(window):.2f} s (median)")
    print("PASS" if max(window) < 1.5 else "OVER BUDGET")


if __name__ == "__main__":
    main()
