"""Long-session soak: many cycles of open image -> inspect -> build -> train a few batches -> stop.

Drives the real main window offscreen and prints, per cycle, the number of
threads (Python and OS), resident memory and the GUI event-loop lateness
(a 10 ms timer on the GUI thread). Memory and threads must stay flat. The
"py thr" column counts threads Python knows of, including the dummy entries
Python leaves behind for finished QThreads; "os thr" is the real count.

    python benchmarks/soak.py [--cycles 30] [--glibc-arenas]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run from anywhere: the repository first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_TMP = tempfile.mkdtemp(prefix="convexplorer-soak-")
os.environ["CONVEXPLORER_HOME"] = _TMP


#: Cycles during which caches fill (first traces, thumbnails); the growth figure starts after them.
WARM_UP = 5


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def os_threads() -> int:
    """Threads of this process (Linux /proc)."""
    return len(os.listdir("/proc/self/task"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30)
    parser.add_argument("--glibc-arenas", action="store_true",
                        help="leave glibc's malloc arenas uncapped (the app caps them at start-up, as main() does)")
    args = parser.parse_args()
    if not args.glibc_arenas:
        from convexplorer.core.memory import limit_malloc_arenas

        limit_malloc_arenas()  # as convexplorer.app.main does, before any thread

    from benchmarks.lateness import LatenessProbe
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from convexplorer.core.datasets.shapes import ShapesDataset
    from convexplorer.core.images import save_image
    from convexplorer.core.samples import scene
    from convexplorer.ui import workers
    from convexplorer.ui.main_window import MainWindow
    from convexplorer.ui.tfloader import load_tensorflow_now

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings(str(Path(_TMP) / "s.ini"), QSettings.Format.IniFormat))
    window.show()
    load_tensorflow_now(window.state)
    image = Path(_TMP) / "photo.png"
    save_image(scene(128), image)
    window.state.set_dataset(ShapesDataset(n=400, size=32, seed=0))

    lateness: list[float] = []
    probe = LatenessProbe(lateness)
    probe.start()

    def wait_until(cond, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        loop = QEventLoop()
        while not cond():
            if time.monotonic() > deadline:
                return False
            QTimer.singleShot(20, loop.quit)
            loop.exec()
        return True

    training = window.panel("training")
    inspect = window.panel("inspect")
    builder = window.panel("builder")
    print(f"{'cycle':>5} {'py thr':>6} {'os thr':>6} {'widgets':>7} {'RSS MB':>8} {'p99 late ms':>11} {'s':>5}")
    rows = []
    settled_lateness: list[float] = []
    for cycle in range(1, args.cycles + 1):
        t0 = time.monotonic()
        lateness.clear()
        probe.forget_pause()  # the pause for this script's own gc.collect() is not the app's
        window.open_paths([image])
        wait_until(inspect.has_image, 30)
        builder.load_preset("MNIST convnet")
        training.epochs_spin.setValue(1)
        training.batch_spin.setValue(32)
        training.start_training()
        wait_until(lambda: training.live_session is not None and training.live_session.steps_done >= 3, 60)
        training.stop()
        wait_until(lambda: not training.is_training(), 60)
        wait_until(inspect.analysed, 30)
        wait_until(lambda: not workers.active_workers(), 120)  # evaluation, inspection: let the cycle's work end
        gc.collect()
        window.docks["inspect"].close()
        window.show_panel("inspect")
        p99 = statistics.quantiles(lateness, n=100)[98] if len(lateness) >= 100 else max(lateness, default=0.0)
        if cycle > WARM_UP:
            settled_lateness.extend(lateness)
        row = (cycle, threading.active_count(), os_threads(), rss_mb(), p99, time.monotonic() - t0, len(app.allWidgets()))
        rows.append(row)
        print(f"{row[0]:5d} {row[1]:6d} {row[2]:6d} {row[6]:7d} {row[3]:8.0f} {row[4]:11.1f} {row[5]:5.1f}", flush=True)
    window.close()
    half = len(rows) // 2 or 1
    first, second = rows[:half], rows[half:] or rows
    print(f"threads (OS): first half max {max(r[2] for r in first)}, second half max {max(r[2] for r in second)}")
    print(f"RSS MB: first half mean {statistics.mean(r[3] for r in first):.0f}, "
          f"second half mean {statistics.mean(r[3] for r in second):.0f}")
    settled = rows[WARM_UP:]
    if len(settled) >= 3:
        slope = statistics.linear_regression([r[0] for r in settled], [r[3] for r in settled]).slope
        print(f"RSS growth after the first {WARM_UP} cycles (least squares): {slope:+.1f} MB per cycle")
    print(f"widgets: first {rows[0][6]}, last {rows[-1][6]}")
    print(f"GUI lateness p99 per cycle: median {statistics.median(r[4] for r in rows):.1f} ms, "
          f"max {max(r[4] for r in rows):.1f} ms")
    if len(settled_lateness) >= 100:
        p99_all = statistics.quantiles(settled_lateness, n=100)[98]
        slow = sum(1 for v in settled_lateness if v > 50)
        print(f"GUI lateness after the first {WARM_UP} cycles: p99 {p99_all:.1f} ms (budget 50), "
              f"{slow} of {len(settled_lateness)} ticks over 50 ms, worst {max(settled_lateness):.0f} ms")


if __name__ == "__main__":
    main()
