"""Entry point: ``convexplorer [--version] [--self-test] [--screenshot DIR] [FILE ...]``.

The window is shown first; TensorFlow is imported on a worker thread after
that, so the user sees the app in well under two seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from convexplorer import __version__

_T0 = time.perf_counter()
ORGANIZATION = "ConvExplorer"
APPLICATION = "ConvExplorer"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="convexplorer",
        description="See how convolutional neural networks work, and build your own.",
    )
    parser.add_argument("--version", action="version", version=f"ConvExplorer {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="import TensorFlow, build, train and inspect a tiny convnet, construct every panel, print OK",
    )
    parser.add_argument("--screenshot", metavar="DIR", help="render every panel to PNG files in DIR and exit (works offscreen)")
    parser.add_argument("--startup-report", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help="images, image folders, .keras models or .json designs to open")
    return parser.parse_args(argv)


def make_application(argv: Sequence[str]):
    """The QApplication, named and with its icon (made once)."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName("convexplorer")  # links the window to convexplorer.desktop (Wayland)
    app = QApplication.instance() or QApplication(list(argv))
    app.setAttribute(Qt.ApplicationAttribute.AA_DontShowIconsInMenus, False)
    from convexplorer.ui.resources import app_icon
    from convexplorer.ui.style import apply_style

    app.setWindowIcon(app_icon())
    apply_style(app)
    return app


def _write_json(path: str, data: dict) -> None:
    Path(path).write_text(json.dumps(data), encoding="utf-8")


def run_gui(args: argparse.Namespace) -> int:
    """Show the main window, load TensorFlow behind it, run the event loop."""
    app = make_application([sys.argv[0]])
    from PySide6.QtCore import QTimer

    from convexplorer.ui.errors import ExceptionRelay, setup_logging, show_error_dialog
    from convexplorer.ui.main_window import MainWindow
    from convexplorer.ui.tfloader import load_tensorflow_async

    setup_logging()
    relay = ExceptionRelay()
    window = MainWindow(lazy_panels=True)
    relay.caught.connect(lambda m, d: show_error_dialog(window, m, d))
    relay.install()
    window.show()
    shown_at = time.perf_counter() - _T0
    report: dict[str, float] = {"window_shown_s": shown_at, "window_shown_epoch": time.time()}

    def tf_ready() -> None:
        report["tf_ready_s"] = time.perf_counter() - _T0
        report["tf_ready_epoch"] = time.time()
        if args.startup_report:
            _write_json(args.startup_report, report)
            window.close()

    window.state.tensorflow_ready.connect(tf_ready)
    # Once the event loop has painted the window: the other panels, then the TensorFlow import.
    QTimer.singleShot(0, window.construct_panels_in_background)
    QTimer.singleShot(0, lambda: load_tensorflow_async(window.state))
    if args.files:
        QTimer.singleShot(0, lambda: window.open_paths(args.files))
    code = app.exec()
    window.shutdown()
    return code


def screenshot(directory: str | Path) -> list[Path]:
    """Render every panel to PNG files in ``directory`` (see ``convexplorer.ui.screenshots``)."""
    from convexplorer.ui.screenshots import render_screenshots

    return render_screenshots(directory)


def self_test() -> int:
    """Exercise the whole stack once; print OK and return 0, or the failure and 1."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    steps: list[str] = []
    try:
        import numpy as np

        from convexplorer.core import samples
        from convexplorer.core.images import load_image, save_image

        t = time.perf_counter()
        import keras
        import tensorflow as tf

        steps.append(f"TensorFlow {tf.__version__}, Keras {keras.__version__} imported in {time.perf_counter() - t:.1f} s")

        model = keras.Sequential(
            [
                keras.Input((16, 16, 1)),
                keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        rng = np.random.default_rng(0)
        x = rng.random((8, 16, 16, 1), dtype=np.float32)
        y = rng.integers(0, 2, 8)
        loss = float(model.train_on_batch(x, y)[0])
        if not np.isfinite(loss):
            raise RuntimeError(f"training step gave loss {loss}")
        steps.append(f"tiny convnet built ({model.count_params()} parameters), one training step, loss {loss:.3f}")

        probs = np.asarray(model(x[:1], training=False))
        if probs.shape != (1, 2) or abs(float(probs.sum()) - 1) > 1e-4:
            raise RuntimeError(f"inference gave {probs}")
        try:
            from convexplorer.core.inspect import feature_maps, grad_cam

            maps = feature_maps(model, x[0])
            cam = grad_cam(model, x[0])
            steps.append(f"inspected: {len(maps)} feature maps, Grad-CAM {cam.shape}")
        except ImportError:
            extractor = keras.Model(model.inputs, model.get_layer("conv").output)
            fmap = np.asarray(extractor(x[:1], training=False))
            steps.append(f"inspected: feature map {fmap.shape[1:]}")

        from convexplorer.core import zoo

        names = zoo.imagenet_class_names()  # shipped with the app: no network
        bundled = zoo.cached_weights(zoo.DEFAULT_CLASSIFIER)
        steps.append(f"{len(names)} ImageNet class names; {zoo.DEFAULT_CLASSIFIER} weights "
                     + (f"at {bundled}" if bundled else "not here yet (asked for at the first photo)"))

        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sample.png"
            save_image(samples.scene(), path)
            img = load_image(path)
        steps.append(f"sample image saved and loaded {img.shape}")

        app = make_application([sys.argv[0]])
        from convexplorer.ui.main_window import MainWindow, UnavailablePanel

        window = MainWindow()
        window.state.mark_tensorflow_ready()
        app.processEvents()
        broken = [k for k, p in window.panels.items() if isinstance(p, UnavailablePanel)]
        window.save_settings = lambda: None  # type: ignore[method-assign]
        window.close()
        if broken:
            raise RuntimeError(f"panels failed to load: {', '.join(broken)}")
        steps.append(f"{len(window.panels)} panels constructed on Qt's {app.platformName()} platform")
    except Exception as exc:  # noqa: BLE001
        for s in steps:
            print(f"ok    {s}")
        print(f"FAIL  {type(exc).__name__}: {exc}")
        return 1
    for s in steps:
        print(f"ok    {s}")
    print("OK")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    args = parse_args(argv)
    from convexplorer.core.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread is made: a long session's memory stays flat
    if args.self_test:
        return self_test()
    if args.screenshot:
        written = screenshot(args.screenshot)
        return 0 if written else 1
    return run_gui(args)


if __name__ == "__main__":
    raise SystemExit(main())
