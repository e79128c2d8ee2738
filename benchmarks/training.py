"""Training machinery benchmark: app vs bare model.fit, GUI latency, chart cost, start/stop cycles.

    QT_QPA_PLATFORM=offscreen python benchmarks/training.py [--n 4096] [--epochs 2] [--cycles 100]

Prints:
- throughput of the MNIST convnet on random 28x28x1 data: bare ``model.fit``
  vs the app's path (TrainingSession on a worker QThread, events bridged to
  the GUI, a GUI timer draining them into LiveCharts), as a ratio measured in
  the same run (pairs interleaved, median ratio; budget >= 95 %);
- GUI event-loop lateness while training (a 10 ms QTimer on the GUI thread;
  budget p99 < 50 ms);
- LiveChart redraw time with 10,000 and 100,000 batch points;
- ``--cycles`` start/stop cycles (a worker thread each, stopped after its
  first batch): Python and OS thread counts and resident memory before/after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# benchmarks/inspect.py would shadow the standard library's inspect: drop this folder from the path
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import numpy as np  # noqa: E402


def rss_mb() -> float:
    """Resident memory of this process (MB), from /proc (Linux) or resource."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def os_threads() -> int:
    """Native threads of this process (TF pools included)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048, help="random training images")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement")
    ap.add_argument("--pairs", type=int, default=3, help="bare/app measurement pairs (order alternates)")
    ap.add_argument("--cycles", type=int, default=100, help="start/stop cycles")
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from benchmarks.lateness import LatenessProbe
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    import keras

    from convexplorer.core.training import BatchEvent, TrainingSession, TrainingSettings, mnist_convnet
    from convexplorer.ui.panels.training import TrainingBridge
    from convexplorer.ui.widgets.live_chart import LiveChart
    from convexplorer.ui.workers import active_workers, run_in_thread

    rng = np.random.default_rng(0)
    x = rng.random((args.n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.n).astype(np.int32)
    print(f"MNIST convnet ({mnist_convnet().count_params():,} parameters), {args.n} random 28x28x1 images, "
          f"batch {args.batch}, {args.epochs} timed epoch(s), keras {keras.__version__}")

    def bare() -> float:
        keras.utils.set_random_seed(0)
        m = mnist_convnet()
        m.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)  # warm-up: tracing
        t = time.perf_counter()
        m.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0)
        return args.n * args.epochs / (time.perf_counter() - t)

    chart_loss = LiveChart("Loss")
    chart_loss.add_series("b", "batch", "#1f77b4")
    chart_lr = LiveChart("LR")
    chart_lr.add_series("b", "lr", "#555")
    chart_loss.resize(500, 300)
    chart_loss.show()
    lateness: list[float] = []

    def in_app() -> float:
        keras.utils.set_random_seed(0)
        m = mnist_convnet()
        bridge = TrainingBridge()
        s = TrainingSession(m, (x, y), settings=TrainingSettings(batch_size=args.batch), on_event=bridge.on_event)

        def run_worker(epochs: int) -> float:
            drain = QTimer()
            drain.setInterval(33)

            def take() -> None:
                for e in bridge.take_batches():
                    if isinstance(e, BatchEvent):
                        xx = e.epoch + e.batch / (e.steps_per_epoch or 1)
                        chart_loss.append("b", xx, e.logs.get("loss", np.nan))
                        chart_lr.append("b", xx, e.learning_rate)

            drain.timeout.connect(take)
            probe = LatenessProbe(lateness)
            loop = QEventLoop()
            t = time.perf_counter()
            w = run_in_thread(s.run, epochs)
            w.finished.connect(loop.quit)
            drain.start()
            probe.start()
            loop.exec()  # the real event loop, as in the app
            dt = time.perf_counter() - t
            probe.stop()
            drain.stop()
            take()
            w.wait()
            return dt

        lateness_len = len(lateness)
        run_worker(1)  # warm-up: tracing
        del lateness[lateness_len:]
        dt = run_worker(args.epochs)
        return args.n * args.epochs / dt

    # reference for the GUI latency: the same 10 ms timer with no training (machine load shows here too)
    idle: list[float] = []
    probe = LatenessProbe(idle)
    loop = QEventLoop()
    QTimer.singleShot(3000, loop.quit)
    probe.start()
    loop.exec()
    probe.stop()
    idle_arr = np.asarray(idle[1:], dtype=np.float64)
    print(f"GUI timer lateness, idle reference ({idle_arr.size} ticks): p50 {np.percentile(idle_arr, 50):.1f} ms, "
          f"p99 {np.percentile(idle_arr, 99):.1f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    # reference for the GUI latency while training: a bare model.fit on a plain Python thread,
    # no events, no charts (shows what TF's own CPU use does to the GUI thread on this machine)
    ref_late: list[float] = []
    keras.utils.set_random_seed(0)
    ref_model = mnist_convnet()
    ref_model.fit(x[:512], y[:512], batch_size=args.batch, epochs=1, verbose=0)
    probe = LatenessProbe(ref_late)
    probe.timer.timeout.connect(lambda: None if bare_thread.is_alive() else loop.quit())
    loop = QEventLoop()
    bare_thread = threading.Thread(target=lambda: ref_model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0))
    probe.start()
    bare_thread.start()
    loop.exec()
    probe.stop()
    bare_thread.join()
    ref_arr = np.asarray(ref_late[1:], dtype=np.float64)
    print(f"GUI timer lateness while a bare model.fit runs on a plain thread ({ref_arr.size} ticks): "
          f"p50 {np.percentile(ref_arr, 50):.1f} ms, p99 {np.percentile(ref_arr, 99):.1f} ms")

    in_app()  # warm-up of the GUI side (first paints, font caches); not counted
    del lateness[:]
    ratios = []
    for i in range(args.pairs):
        if i % 2 == 0:
            b = bare()
            a = in_app()
        else:
            a = in_app()
            b = bare()
        ratios.append(a / b)
        print(f"  pair {i + 1}: bare {b:,.0f} samples/s, app {a:,.0f} samples/s, ratio {a / b:.3f}")
    print(f"throughput app / bare model.fit: median {statistics.median(ratios):.3f} (budget >= 0.95)")
    late = np.asarray(lateness, dtype=np.float64)
    if late.size:
        print(f"GUI timer lateness while training ({late.size} ticks of 10 ms): "
              f"p50 {np.percentile(late, 50):.1f} ms, p99 {np.percentile(late, 99):.1f} ms, max {late.max():.0f} ms (budget p99 < 50 ms)")

    # chart redraw cost with many points
    for n in (10_000, 100_000):
        c = LiveChart("bench")
        c.add_series("b", "batch", "#1f77b4")
        c.resize(600, 300)
        c.show()
        xs = np.arange(n, dtype=np.float64) / 100
        c.set_series("b", xs, np.exp(-xs / 300) + 0.05 * rng.random(n))
        c.redraw_now()
        app.processEvents()
        times, paint = [], []
        for k in range(5):
            c.append("b", xs[-1] + 0.01 * (k + 1), 0.1)
            t = time.perf_counter()
            c.redraw_now()
            t1 = time.perf_counter()
            c.plot.grab()  # painting (offscreen grab)
            paint.append(time.perf_counter() - t1)
            times.append(t1 - t)
        print(f"LiveChart with {n:,} points: data update median {1000 * statistics.median(times):.1f} ms, "
              f"paint (offscreen grab) median {1000 * statistics.median(paint):.1f} ms")
        c.close()

    # start/stop cycles
    keras.utils.set_random_seed(0)
    m = mnist_convnet()
    holder: dict = {}

    def on_event(e) -> None:
        if isinstance(e, BatchEvent):
            holder["s"].stop()

    s = TrainingSession(m, (x[:1024], y[:1024]), settings=TrainingSettings(batch_size=args.batch), on_event=on_event)
    holder["s"] = s

    def cycle() -> None:
        loop = QEventLoop()
        w = run_in_thread(s.run, 5)
        w.finished.connect(loop.quit)
        loop.exec()
        w.wait()

    import gc

    # reference: the same cycles with a bare model.fit stopped by a plain callback, on this thread
    class StopAtOnce(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    keras.utils.set_random_seed(0)
    ref = mnist_convnet()
    for _ in range(5):
        ref.fit(x[:1024], y[:1024], batch_size=args.batch, epochs=5, verbose=0, callbacks=[StopAtOnce()])
    gc.collect()
    r0 = rss_mb()
    t = time.perf_counter()
    for _ in range(args.cycles):
        ref.fit(x[:1024], y[:1024], batch_size=args.batch, epochs=5, verbose=0, callbacks=[StopAtOnce()])
    gc.collect()
    print(f"reference: {args.cycles} bare model.fit start/stop cycles in {time.perf_counter() - t:.1f} s: "
          f"RSS {r0:.0f} -> {rss_mb():.0f} MB")

    for _ in range(5):  # warm-up
        cycle()

    gc.collect()
    py0, os0, mem0 = threading.active_count(), os_threads(), rss_mb()
    t = time.perf_counter()
    for i in range(args.cycles):
        cycle()
        if i == args.cycles // 2 - 1:
            gc.collect()
            mem_half = rss_mb()
    gc.collect()
    app.processEvents()
    py1, os1, mem1 = threading.active_count(), os_threads(), rss_mb()
    print(f"{args.cycles} start/stop cycles in {time.perf_counter() - t:.1f} s: Python threads {py0} -> {py1}, "
          f"OS threads {os0} -> {os1}, running workers {len(active_workers())}, "
          f"RSS {mem0:.0f} -> {mem_half:.0f} (half-way) -> {mem1:.0f} MB")
    chart_loss.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
