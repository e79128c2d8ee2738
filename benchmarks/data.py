"""Data benchmarks: big folders, thumbnails, memory, and input-pipeline vs training throughput.

    python benchmarks/data.py [--files 50000] [--keep DIR]

Prints:
* listing (scan) time, header-check (verify) time and time to the first
  thumbnails for a generated folder of 50,000 small images (2 classes);
* memory: traced Python memory per listed file, and the thumbnail cache after
  scrolling through the whole grid (bounded whatever the folder size);
* input-pipeline throughput (images/s) of 150x150 folder data through
  ``to_tf_dataset``, with and without the textbook augmentation, against the
  rate at which ``model.fit`` trains the textbook's small cats-vs-dogs convnet
  on in-memory tensors of the same shape (the pipeline must not be the bottleneck);
* how long a small convnet takes to learn the default Shapes set (64x64);
* the tfds catalog (``--catalog``): listing time of the shipped snapshot; time
  from a fresh process to the first page of thumbnails of a prepared
  100,000-image set (first open, which reads and caches the labels, and later
  opens); peak memory of that for 10,000 vs 100,000 images; and input-pipeline
  throughput of the prepared 28x28 set through ``to_tf_dataset`` against
  ``model.fit`` of the MNIST preset on in-memory arrays.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, where benchmarks/inspect.py
# would shadow the standard library's inspect module: drop it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import io
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def make_folder(root: Path, n: int, size: tuple[int, int], fmt: str = "PNG", variants: int = 64) -> None:
    """``n`` images in two class folders; a few encoded variants are copied (writing is what costs)."""
    rng = np.random.default_rng(0)
    blobs = []
    for k in range(variants):
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
        blobs.append(buf.getvalue())
    ext = ".jpg" if fmt == "JPEG" else ".png"
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cls = "cats" if i % 2 == 0 else "dogs"
        (root / cls / f"{i:06d}{ext}").write_bytes(blobs[i % variants])


def _wait(condition, signal, timeout_s: float) -> None:
    """Run the Qt event loop until ``condition()`` holds (re-checked whenever ``signal`` fires)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()

    def check(*_a) -> None:
        if condition():
            loop.quit()

    signal.connect(check)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(check)


def bench_folder(n_files: int, keep: Path | None) -> None:
    from PySide6.QtWidgets import QApplication

    from convexplorer.core.datasets import scan_folder
    from convexplorer.ui.widgets.thumbnail_grid import CACHE_LIMIT, ThumbnailGrid

    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="cx-bench-"))
    root = tmp / f"folder{n_files}"
    t = time.perf_counter()
    if not root.exists():
        make_folder(root, n_files, (48, 40))
    print(f"generated {n_files} PNG files (48x40) in {time.perf_counter() - t:.1f} s")

    app = QApplication.instance() or QApplication([])  # noqa: F841 - needed by the grid
    t0 = time.perf_counter()
    ds = scan_folder(root)
    t_scan = time.perf_counter() - t0
    print(f"scan (listing) of {len(ds)} files: {t_scan:.2f} s")
    tracemalloc.start()
    ds_mem = scan_folder(root)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    small = Path(tempfile.mkdtemp(prefix="cx-bench-small-"))
    make_folder(small / "f", n_files // 10, (48, 40))
    tracemalloc.start()
    scan_folder(small / "f")
    _c, peak_small = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    shutil.rmtree(small, ignore_errors=True)
    print(f"memory of a listing (traced peak): {peak_small / 1e6:.1f} MB for {n_files // 10} files, "
          f"{peak / 1e6:.1f} MB for {len(ds_mem)} files = {peak / len(ds_mem):.0f} bytes per file "
          "(paths and labels; no pixels are held)")
    del ds_mem

    grid = ThumbnailGrid(64)
    grid.resize(900, 600)
    grid.show()
    t1 = time.perf_counter()
    grid.set_dataset(ds)
    _wait(lambda: grid.thumb_model.cached_count() > 0, grid.thumb_model.thumbnails_loaded, 30)
    t_first = time.perf_counter() - t1
    first, last = grid.visible_rows()
    _wait(lambda: grid.thumb_model.cached_count() >= last - first + 1, grid.thumb_model.thumbnails_loaded, 30)
    t_screen = time.perf_counter() - t1
    print(f"first thumbnails {t_first * 1000:.0f} ms after the grid got the data set "
          f"({(t_scan + t_first):.2f} s after the scan started); a full screen ({last - first + 1}) in {t_screen * 1000:.0f} ms")

    # Scroll through the whole grid: the cache stays bounded.
    model = grid.thumb_model
    t2 = time.perf_counter()
    step = 2000
    for start in range(0, len(ds), step):
        rows = range(start, min(len(ds), start + 64))
        model.request_rows(rows[0], rows[-1])
        wanted = [int(model.indices()[r]) for r in rows]
        _wait(lambda: all(i in model._cache for i in wanted), model.thumbnails_loaded, 10)
    print(f"scrolled through {len(ds)} rows (jumping {step} at a time) in {time.perf_counter() - t2:.1f} s: "
          f"{model.cached_count()} thumbnails cached (limit {CACHE_LIMIT}, ~{CACHE_LIMIT * 64 * 64 * 4 / 1e6:.0f} MB at most)")
    grid.shutdown()
    grid.close()

    t3 = time.perf_counter()
    checked = ds.verify(deep=False)
    print(f"header check (verify) of {len(ds)} files: {time.perf_counter() - t3:.1f} s, {len(checked.skipped)} skipped")
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_pipeline(n_images: int = 384) -> None:
    import keras

    from convexplorer.core.datasets import AugmentationSpec, scan_folder

    tmp = Path(tempfile.mkdtemp(prefix="cx-pipe-"))
    try:
        make_folder(tmp / "pets", n_images, (200, 170), fmt="JPEG", variants=32)
        ds = scan_folder(tmp / "pets", image_size=(150, 150)).with_split(0.0, 0.0)

        def rate(augmentation) -> float:
            tfd = ds.to_tf_dataset("train", batch_size=32, shuffle=True, augmentation=augmentation)
            it = iter(tfd)
            next(it)  # warm-up (first batch builds the graph)
            n, t = 0, time.perf_counter()
            for x, _y in it:
                n += int(x.shape[0])
            return n / (time.perf_counter() - t)

        plain = rate(False)
        aug = rate(AugmentationSpec.textbook())

        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((150, 150, 3)),
            keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(128, 3, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(128, 3, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Flatten(), keras.layers.Dense(512, activation="relu"), keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile("rmsprop", "binary_crossentropy")
        x = np.random.default_rng(0).random((128, 150, 150, 3), dtype=np.float32)
        y = np.random.default_rng(1).integers(0, 2, 128)
        model.fit(x[:32], y[:32], batch_size=32, epochs=1, verbose=0)  # warm-up
        t = time.perf_counter()
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        fit_rate = 128 / (time.perf_counter() - t)
        print(f"input pipeline, {n_images} JPEGs 200x170 -> 150x150: {plain:.0f} images/s; "
              f"with textbook augmentation {aug:.0f} images/s")
        print(f"model.fit of the textbook cats-vs-dogs convnet (150x150x3, in memory): {fit_rate:.0f} images/s "
              f"-> pipeline/fit = {plain / fit_rate:.1f}x plain, {aug / fit_rate:.1f}x augmented (>1: never the bottleneck)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_shapes_learning() -> None:
    import keras

    from convexplorer.core.datasets import ShapesDataset

    keras.utils.set_random_seed(0)
    t = time.perf_counter()
    ds = ShapesDataset(n=2000, size=64, seed=0).with_split(0.2, 0.0)
    model = keras.Sequential([
        keras.Input(ds.image_shape),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    val = ds.to_tf_dataset("validation", 64, shuffle=False)
    best, epochs = 0.0, 0
    while time.perf_counter() - t < 60 and best < 0.9 and epochs < 30:
        h = model.fit(ds.to_tf_dataset("train", 32, seed=epochs), validation_data=val, epochs=1, verbose=0)
        best = max(best, float(h.history["val_accuracy"][-1]))
        epochs += 1
    print(f"Shapes 2000 x 64x64: small convnet reached {best:.1%} validation accuracy after {epochs} epochs, "
          f"{time.perf_counter() - t:.0f} s including drawing the set")


_FIRST_PAGE = """
import sys, time, resource
t0 = time.perf_counter()
from convexplorer.core.datasets.catalog import CatalogDataset
ds = CatalogDataset.from_directory(sys.argv[1])
thumbs = [ds.thumbnail(i) for i in range(60)]  # the first page of the grid (about 60 tiles at 1280x800)
t1 = time.perf_counter()
print(len(ds), t1 - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "tensorflow" in sys.modules)
"""


def bench_catalog(keep: Path | None) -> None:
    import subprocess

    from convexplorer.core.datasets import catalog

    catalog.load_snapshot.cache_clear()
    t = time.perf_counter()
    entries = catalog.catalog_entries()
    listing = time.perf_counter() - t
    t = time.perf_counter()
    found = catalog.search_catalog("flowers")
    search = time.perf_counter() - t
    print(f"catalog: {len(entries)} sets listed in {listing * 1000:.1f} ms from the snapshot "
          f"(search 'flowers': {len(found)} in {search * 1000:.2f} ms)")
    root = keep or Path(tempfile.mkdtemp(prefix="cx-tfds-"))
    try:
        import tensorflow_datasets as tfds

        import tests.core.catalog_builders  # noqa: F401 - registers many_images

        folders = {}
        for config in ("10k", "100k"):
            builder = tfds.builder(f"many_images/{config}", data_dir=str(root), file_format="array_record")
            t = time.perf_counter()
            if not builder.is_prepared():
                builder.download_and_prepare()
                print(f"prepared many_images/{config} in {time.perf_counter() - t:.1f} s")
            folders[config] = Path(builder.data_dir)
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        rss = {}
        for config in ("10k", "100k"):
            for f in folders[config].glob("convexplorer-labels-*.npy"):
                f.unlink()  # the first open reads every label once
            for attempt in ("first open", "later open"):
                out = subprocess.run([sys.executable, "-c", _FIRST_PAGE, str(folders[config])], capture_output=True,
                                     text=True, env=env, check=True).stdout.split()
                n, secs, mb, tf_loaded = int(out[0]), float(out[1]), float(out[2]), out[3]
                rss[(config, attempt)] = mb
                print(f"catalog set of {n:,} images, {attempt}: first page (60 thumbnails) {secs:.2f} s from a fresh "
                      f"process, peak RSS {mb:.0f} MB, TensorFlow imported: {tf_loaded}")
        print(f"memory: peak RSS 100k vs 10k (later open) {rss[('100k', 'later open')] - rss[('10k', 'later open')]:+.0f} MB")
        bench_catalog_pipeline(folders["100k"])
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def bench_catalog_pipeline(folder: Path) -> None:
    from convexplorer.core.builder import build_model
    from convexplorer.core.datasets.catalog import CatalogDataset
    from convexplorer.core.presets import preset

    ds = CatalogDataset.from_directory(folder).with_split(0.0, 0.0)
    tfd = ds.to_tf_dataset("train", batch_size=128, shuffle=True)
    it = iter(tfd)
    next(it)
    n, t = 0, time.perf_counter()
    for x, _y in it:
        n += int(x.shape[0])
        if n >= 20_000:
            break
    pipe = n / (time.perf_counter() - t)
    model = build_model(preset("MNIST convnet"))
    x = np.random.default_rng(0).random((4096, 28, 28, 1), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, 4096)
    model.fit(x[:512], y[:512], batch_size=128, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    fit = 4096 / (time.perf_counter() - t)
    print(f"catalog input pipeline (28x28 PNG records -> float batches of 128): {pipe:.0f} images/s; "
          f"model.fit of the MNIST preset (in memory): {fit:.0f} images/s -> pipeline/fit = {pipe / fit:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated folder here (reused next time)")
    parser.add_argument("--skip-tf", action="store_true", help="only the folder/thumbnail figures")
    parser.add_argument("--catalog", action="store_true", help="only the tfds catalog figures")
    args = parser.parse_args()
    if args.catalog:
        bench_catalog(args.keep)
        return
    bench_folder(args.files, args.keep)
    if not args.skip_tf:
        bench_pipeline()
        bench_shapes_learning()


if __name__ == "__main__":
    main()
