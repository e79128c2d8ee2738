"""Cancelling every long core operation at random moments.

Each test runs an operation with a cancel flag that is set at a random moment
(at its k-th check of the flag, after its k-th progress report, or from a
timer) and checks that it ends promptly, says "cancelled" the documented way
(``Cancelled``, or a documented partial result), leaves no half-written file
and no stray temporary file, and that a second, uncancelled run gives the
right answer (an uncancelled reference run or an independent reference).

The moments are drawn by a seeded ``random.Random`` (the seed is in the
failure message): always the first and the last check, plus a few between.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import math
import os
import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from convexplorer.core.errors import Cancelled

#: A cancelled operation must end within this many seconds of the flag being set.
PROMPT_S = 3.0
#: Any single run of an operation must end within this (a hang fails the test instead of blocking it).
HANG_S = 60.0
SEED = 20240611


# --------------------------------------------------------------------------- helpers
class CancelFlag(threading.Event):
    """A cancel event that may set itself at its ``at_check``-th check, and remembers when it was set."""

    def __init__(self, at_check: int | None = None) -> None:
        super().__init__()
        self.at_check = at_check
        self.checks = 0
        self.set_at: float | None = None
        self._count = threading.Lock()

    def set(self) -> None:
        if self.set_at is None:
            self.set_at = time.monotonic()
        super().set()

    def is_set(self) -> bool:
        with self._count:
            self.checks += 1
            if self.at_check is not None and self.checks >= self.at_check and not super().is_set():
                self.set()
        return super().is_set()


class Outcome:
    """What a bounded run gave: its value or exception, and when it ended."""

    def __init__(self) -> None:
        self.value = None
        self.exc: BaseException | None = None
        self.ended = 0.0

    def unwrap(self):
        if self.exc is not None:
            raise self.exc
        return self.value


def run_bounded(fn, what: str, limit_s: float = HANG_S) -> Outcome:
    """Run ``fn()`` on a thread (as the app's workers do); fail if it has not ended after ``limit_s``."""
    out = Outcome()

    def target() -> None:
        try:
            out.value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.exc = exc
        finally:
            out.ended = time.monotonic()

    t = threading.Thread(target=target, name=f"cancel-test {what}", daemon=True)
    t.start()
    t.join(limit_s)
    if t.is_alive():
        pytest.fail(f"{what}: still running {limit_s:.0f} s after it started (hang)")
    return out


def assert_cancelled(out: Outcome, flag: CancelFlag, what: str) -> None:
    """The run raised Cancelled, promptly after the flag was set."""
    assert isinstance(out.exc, Cancelled), f"{what}: expected Cancelled, got {out.exc!r} / {type(out.value).__name__}"
    assert flag.set_at is not None, f"{what}: raised Cancelled but the flag was never set"
    late = out.ended - flag.set_at
    assert late < PROMPT_S, f"{what}: ended {late:.2f} s after the cancel flag was set"


def moments(n: int, rng: random.Random, extra: int = 2) -> list[int]:
    """The first and last of ``n`` moments and ``extra`` random ones between (1-based)."""
    assert n >= 1
    inner = list(range(2, n))
    return sorted({1, n, *rng.sample(inner, min(extra, len(inner)))})


def count_checks(fn) -> int:
    """How many times an uncancelled run of ``fn(cancel)`` checks its cancel flag."""
    flag = CancelFlag()
    run_bounded(lambda: fn(flag), "counting checks").unwrap()
    return flag.checks


def listing(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (names relative)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cancel_after_reports(k: int, flag: CancelFlag):
    """A progress callback that sets ``flag`` at its ``k``-th report."""
    seen = [0]

    def progress(done, total, message):
        seen[0] += 1
        if seen[0] == k:
            flag.set()

    progress.seen = seen  # type: ignore[attr-defined]
    return progress


def count_reports(fn) -> int:
    seen = []
    run_bounded(lambda: fn(lambda d, t, m: seen.append(m)), "counting reports").unwrap()
    return len(seen)


# --------------------------------------------------------------------------- a local HTTP server
class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` with Range support; ``/slow/...`` trickles, ``/stall/...`` stops sending."""

    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args):  # silence
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        srv = self.server
        path = self.path
        mode = ""
        for m in ("/slow", "/stall"):
            if path.startswith(m + "/"):
                mode, path = m, path[len(m):]
        data = srv.files.get(path)
        srv.requests.append((self.path, self.headers.get("Range")))
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
        body = data[start:]
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if mode == "/stall":
                self.wfile.write(body[:1000])
                self.wfile.flush()
                srv.release.wait(30)
                return
            step = 16 * 1024
            for i in range(0, len(body), step):
                self.wfile.write(body[i : i + step])
                if mode == "/slow":
                    self.wfile.flush()
                    time.sleep(0.01)
        except OSError:
            pass  # the client went away (cancelled)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.release = threading.Event()


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True, name="http")
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def _payload(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


# --------------------------------------------------------------------------- downloads
def test_download_cancelled_at_random_chunks_keeps_the_old_file_and_resumes(server, tmp_path):
    from convexplorer.core.download import download_file, part_path

    srv, base = server
    payload = _payload(1_000_000, 1)
    sha = hashlib.sha256(payload).hexdigest()
    srv.files["/data.bin"] = payload
    dest = tmp_path / "cache" / "data.bin"
    dest.parent.mkdir()

    def fetch(progress=None, cancel=None):
        return download_file(f"{base}/data.bin", dest, sha256=sha, progress=progress, cancel=cancel)

    n = count_reports(lambda p: fetch(progress=p))
    dest.unlink()
    rng = random.Random(SEED)
    for k in moments(n, rng, extra=3):
        old = b"an outdated copy " + bytes([k])
        dest.write_bytes(old)  # the previous version, with the wrong hash: it must survive a cancel
        for p in part_path(dest).parent.glob("*.part"):
            p.unlink()
        flag = CancelFlag()
        out = run_bounded(lambda: fetch(progress=cancel_after_reports(k, flag), cancel=flag), f"download k={k}")
        what = f"download cancelled at report {k}/{n} (seed {SEED})"
        assert_cancelled(out, flag, what)
        assert dest.read_bytes() == old, what
        files = set(os.listdir(dest.parent))
        assert files <= {"data.bin", "data.bin.part"}, f"{what}: stray files {files}"
        kept = part_path(dest).read_bytes() if part_path(dest).exists() else b""
        assert payload.startswith(kept), f"{what}: the partial file is not a prefix of the download"
        # a second run resumes and gives the whole, verified file
        srv.requests.clear()
        run_bounded(lambda: fetch(), f"download after k={k}").unwrap()
        assert dest.read_bytes() == payload, what
        assert os.listdir(dest.parent) == ["data.bin"], what
        if kept:
            assert srv.requests[-1][1] == f"bytes={len(kept)}-", f"{what}: did not resume"


def test_download_cancelled_by_a_timer_while_data_arrives(server, tmp_path):
    from convexplorer.core.download import download_file

    srv, base = server
    payload = _payload(600_000, 2)
    sha = hashlib.sha256(payload).hexdigest()
    srv.files["/data.bin"] = payload
    rng = random.Random(SEED + 1)
    for i in range(3):
        dest = tmp_path / f"d{i}" / "data.bin"
        flag = CancelFlag()
        timer = threading.Timer(rng.uniform(0.02, 0.3), flag.set)
        timer.start()
        try:
            out = run_bounded(lambda: download_file(f"{base}/slow/data.bin", dest, sha256=sha, cancel=flag), "slow download")
        finally:
            timer.cancel()
            timer.join()
        what = f"slow download, timer {i} (seed {SEED + 1})"
        if out.exc is None:  # the timer came after the end: then the file must be whole
            assert dest.read_bytes() == payload, what
        else:
            assert_cancelled(out, flag, what)
            assert not dest.exists(), what
        download_file(f"{base}/data.bin", dest, sha256=sha)
        assert dest.read_bytes() == payload and os.listdir(dest.parent) == ["data.bin"], what


def test_download_cancelled_while_the_server_stalls_ends_promptly(server, tmp_path):
    """A server that stops sending must not hold a cancelled download until the socket timeout (30 s)."""
    from convexplorer.core.download import download_file

    srv, base = server
    payload = _payload(300_000, 3)
    srv.files["/data.bin"] = payload
    dest = tmp_path / "data.bin"
    rng = random.Random(SEED + 2)
    for i in range(2):
        flag = CancelFlag()
        timer = threading.Timer(rng.uniform(0.05, 0.4), flag.set)
        timer.start()
        try:
            out = run_bounded(lambda: download_file(f"{base}/stall/data.bin", dest, cancel=flag), "stalled download")
        finally:
            timer.cancel()
            timer.join()
        assert_cancelled(out, flag, f"stalled download {i} (seed {SEED + 2})")
        assert not dest.exists()
    srv.release.set()
    download_file(f"{base}/data.bin", dest)
    assert dest.read_bytes() == payload


def _idx_gz(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), compresslevel=1)


def test_standard_set_download_cancelled_between_and_inside_files(server, monkeypatch, tmp_path):
    """A four-file set (Fashion-MNIST's layout): cancel anywhere, then a second load gives the arrays."""
    from convexplorer.core.datasets import standard

    srv, base = server
    rng_np = np.random.default_rng(5)
    x_train = rng_np.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    y_train = rng_np.integers(0, 10, 300, dtype=np.uint8)
    x_test = rng_np.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    y_test = rng_np.integers(0, 10, 60, dtype=np.uint8)
    contents = {
        "train-labels-idx1-ubyte.gz": _idx_gz(y_train, 2049),
        "train-images-idx3-ubyte.gz": _idx_gz(x_train, 2051),
        "t10k-labels-idx1-ubyte.gz": _idx_gz(y_test, 2049),
        "t10k-images-idx3-ubyte.gz": _idx_gz(x_test, 2051),
    }
    files = []
    for name, data in contents.items():
        srv.files["/" + name] = data
        files.append(standard.RemoteFile(name, f"{base}/{name}", md5=hashlib.md5(data).hexdigest(), size=len(data)))
    real = standard.STANDARD_SETS["fashion_mnist"]
    fake = standard.StandardSet(real.key, real.title, tuple(files), "datasets/cancel-test", real.class_names, real.parse)
    monkeypatch.setitem(standard.STANDARD_SETS, "fashion_mnist", fake)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    folder = standard.cache_dir("fashion_mnist")

    def load(progress=None, cancel=None):
        return standard.load_standard("fashion_mnist", progress=progress, cancel=cancel)

    n = count_reports(lambda p: load(progress=p))
    rng = random.Random(SEED + 3)
    for k in moments(n, rng, extra=3):
        for p in folder.iterdir():
            p.unlink()
        flag = CancelFlag()
        out = run_bounded(lambda: load(progress=cancel_after_reports(k, flag), cancel=flag), f"standard k={k}")
        what = f"standard set cancelled at report {k}/{n} (seed {SEED + 3})"
        if k == n:  # the very last report comes after the last check: the load is complete
            assert out.exc is None, what
        else:
            assert_cancelled(out, flag, what)
        partial = [p.name for p in folder.iterdir() if p.name.endswith(".part")]
        assert len(partial) <= 1, f"{what}: {partial}"
        for p in folder.iterdir():
            if not p.name.endswith(".part"):
                assert p.name in contents and p.read_bytes() == contents[p.name], f"{what}: {p.name} is not whole"
        ds = run_bounded(lambda: load(), f"standard after k={k}").unwrap()
        assert sorted(os.listdir(folder)) == sorted(contents), what
        np.testing.assert_array_equal(ds.native_image(0), x_train[0, :, :, None] / np.float32(255))
        np.testing.assert_array_equal(ds.native_image(300 + 7), x_test[7, :, :, None] / np.float32(255))
        np.testing.assert_array_equal(ds.labels(), np.concatenate([y_train, y_test]).astype(np.int32))


# --------------------------------------------------------------------------- image folders
def _png_bytes(seed: int, size: int = 8) -> bytes:
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def test_folder_scan_cancelled_at_random_checks(tmp_path):
    from convexplorer.core.datasets.folder import scan_folder

    root = tmp_path / "big"
    png = _png_bytes(0)
    expected = []
    for c, count in (("ants", 1100), ("bees", 30), ("wasps", 620)):
        (root / c).mkdir(parents=True)
        for i in range(count):
            p = root / c / f"{i:05d}.png"
            p.write_bytes(png)
            expected.append(str(p))
    before = sorted(str(p) for p in root.rglob("*"))

    def scan(cancel):
        return scan_folder(root, (8, 8), cancel=cancel)

    n = count_checks(scan)
    assert n >= 5  # one per class folder and one per 500 images
    rng = random.Random(SEED + 4)
    for k in moments(n, rng, extra=3):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: scan(flag), f"scan k={k}")
        assert_cancelled(out, flag, f"folder scan cancelled at check {k}/{n} (seed {SEED + 4})")
        assert sorted(str(p) for p in root.rglob("*")) == before  # a scan writes nothing
    ds = scan(None)
    assert sorted(ds.paths) == sorted(expected)
    assert ds.class_names == ["ants", "bees", "wasps"]
    assert np.bincount(ds.labels()).tolist() == [1100, 30, 620]


def test_folder_verify_cancelled_leaves_the_data_set_as_it_was(tmp_path):
    from convexplorer.core.datasets.folder import scan_folder

    root = tmp_path / "pets"
    good, bad = [], []
    for c in ("cats", "dogs"):
        (root / c).mkdir(parents=True)
        for i in range(80):
            p = root / c / f"{i:03d}.png"
            data = _png_bytes(i)
            if i % 17 == 3:
                p.write_bytes(data[: len(data) // 2])  # truncated
                bad.append(str(p))
            elif i % 23 == 5:
                p.write_bytes(b"")  # empty
                bad.append(str(p))
            else:
                p.write_bytes(data)
                good.append(str(p))
    ds = scan_folder(root, (8, 8))
    paths_before, labels_before = list(ds.paths), ds.labels()
    n = count_checks(lambda cancel: ds.verify(cancel=cancel))
    rng = random.Random(SEED + 5)
    for k in moments(n, rng, extra=1):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: ds.verify(cancel=flag), f"verify k={k}")
        assert_cancelled(out, flag, f"verify cancelled at check {k}/{n} (seed {SEED + 5})")
        assert ds.paths == paths_before and not ds.verified
        np.testing.assert_array_equal(ds.labels(), labels_before)
    checked = ds.verify()
    assert sorted(checked.paths) == sorted(good)
    assert sorted(s.path for s in checked.skipped) == sorted(bad)


# --------------------------------------------------------------------------- procedural data and kernels
def test_shapes_drawing_cancelled_then_drawn_whole():
    from convexplorer.core.datasets.shapes import ShapesDataset

    flag = CancelFlag(at_check=1)
    out = run_bounded(lambda: ShapesDataset(n=50, size=16, seed=3, cancel=flag), "shapes constructor")
    assert_cancelled(out, flag, "shapes set cancelled while being made")

    n_samples = 130  # checks at samples 0, 64 and 128
    ds = ShapesDataset(n=n_samples, size=16, seed=3)
    reference = np.stack([ShapesDataset(n=n_samples, size=16, seed=3).render(i) for i in range(n_samples)])
    n = count_checks(lambda cancel: ShapesDataset(n=n_samples, size=16, seed=3).materialize(cancel=cancel))
    rng = random.Random(SEED + 6)
    for k in moments(n, rng, extra=1):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: ds.materialize(cancel=flag), f"materialize k={k}")
        assert_cancelled(out, flag, f"shapes drawing cancelled at check {k}/{n} (seed {SEED + 6})")
        assert "images" not in ds._rendered, "a cancelled drawing was kept as if complete"
    np.testing.assert_array_equal(ds.materialize(), reference)


def test_gabor_bank_cancelled_then_complete():
    from scipy.ndimage import correlate

    from convexplorer.core import kernels as K

    img = np.random.default_rng(0).random((24, 24)).astype(np.float32)
    bank = np.random.default_rng(1).standard_normal((3, 4, 5, 5)).astype(np.float32)
    n = count_checks(lambda cancel: K.apply_bank(img, bank, cancel=cancel))
    assert n == 12
    rng = random.Random(SEED + 7)
    for k in moments(n, rng):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: K.apply_bank(img, bank, cancel=flag), f"bank k={k}")
        assert_cancelled(out, flag, f"Gabor bank cancelled at check {k}/{n}")
    out = K.apply_bank(img, bank)
    for r in range(3):
        for c in range(4):
            ref = correlate(img, bank[r, c], mode="constant", cval=0.0)
            np.testing.assert_allclose(out[r, c], ref, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- saving
def _interrupt_at(monkeypatch, module, step: str, cut: float):
    """Make one step of an atomic write raise KeyboardInterrupt (Ctrl+C) part-way."""
    if step == "write":
        real_fdopen = os.fdopen

        def fdopen(fd, mode="r", *a, **kw):
            fh = real_fdopen(fd, mode, *a, **kw)
            real_write = fh.write

            def write(data):
                real_write(bytes(data)[: int(len(data) * cut)])
                raise KeyboardInterrupt

            fh.write = write
            return fh

        monkeypatch.setattr(module.os, "fdopen", fdopen)
    elif step == "fsync":
        def fsync(fd):
            raise KeyboardInterrupt

        monkeypatch.setattr(module.os, "fsync", fsync)
    elif step == "replace":
        def replace(a, b):
            raise KeyboardInterrupt

        monkeypatch.setattr(module.os, "replace", replace)


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
def test_atomic_write_interrupted_keeps_the_previous_file_and_no_temp(tmp_path, monkeypatch, step):
    from convexplorer.core import workspace

    target = tmp_path / "work.cxw"
    workspace.atomic_write_json(target, {"version": "previous", "spec": list(range(50))})
    before = target.read_bytes()
    rng = random.Random(f"{SEED}-{step}")
    for _ in range(2):
        with monkeypatch.context() as m:
            _interrupt_at(m, workspace, step, rng.random())
            with pytest.raises(KeyboardInterrupt):
                workspace.atomic_write_json(target, {"version": "new", "spec": list(range(5000))})
        assert target.read_bytes() == before
        assert os.listdir(tmp_path) == ["work.cxw"], f"interrupted at {step}: stray files {os.listdir(tmp_path)}"
    workspace.atomic_write_json(target, {"version": "new"})
    assert workspace.read_json(target) == {"version": "new"}


@pytest.fixture(scope="module")
def small_model():
    pytest.importorskip("keras")
    from tests.models import small_convnet

    return small_convnet((16, 16, 3), 3, seed=0)


def test_model_save_cancelled_or_interrupted_keeps_the_previous_file(tmp_path, monkeypatch, small_model):
    import keras

    from convexplorer.core import modelio

    target = tmp_path / "mine.keras"
    modelio.save_keras_model(small_model, target)
    before = target.read_bytes()
    flag = CancelFlag(at_check=1)
    with pytest.raises(Cancelled):
        modelio.save_keras_model(small_model, target, cancel=flag)
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["mine.keras"]
    # interrupted while Keras writes the archive (Ctrl+C): the old file stays, no temp file is left
    import zipfile

    real = zipfile.ZipFile.open
    for k in (1, 2, 3):  # Keras opens metadata.json, config.json and model.weights.h5 in the archive
        calls = [0]

        def open_member(self, name, mode="r", *a, _k=k, **kw):
            if mode == "w":
                calls[0] += 1
                if calls[0] == _k:
                    raise KeyboardInterrupt
            return real(self, name, mode, *a, **kw)

        with monkeypatch.context() as m:
            m.setattr(zipfile.ZipFile, "open", open_member)
            with pytest.raises(KeyboardInterrupt):
                modelio.save_keras_model(small_model, target)
        assert target.read_bytes() == before
        assert os.listdir(tmp_path) == ["mine.keras"], f"stray files after an interrupted save: {os.listdir(tmp_path)}"
    flag = CancelFlag(at_check=1)
    with pytest.raises(Cancelled):
        modelio.load_keras_model(target, cancel=flag)
    again = modelio.load_keras_model(target)
    for a, b in zip(again.get_weights(), small_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert isinstance(again, keras.Model)
    # the same for the model of a training run
    from convexplorer.core.runs import save_model_atomic

    run_model = tmp_path / "run" / "model.keras"
    run_model.parent.mkdir()
    save_model_atomic(small_model, run_model)
    before = run_model.read_bytes()
    with monkeypatch.context() as m:
        m.setattr(zipfile.ZipFile, "open", lambda self, *a, **kw: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            save_model_atomic(small_model, run_model)
    assert run_model.read_bytes() == before and os.listdir(run_model.parent) == ["model.keras"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_timeline_save_interrupted_keeps_the_previous_file(tmp_path, monkeypatch, step):
    from convexplorer.core import timeline as tl

    probes = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
    t = tl.Timeline(probes, np.array([0, 1]), ["a", "b"], ["#0", "#1"])
    target = tmp_path / tl.TIMELINE_FILE
    t.save(target)
    before = target.read_bytes()
    with monkeypatch.context() as m:
        _interrupt_at(m, tl, step, 0.5)
        with pytest.raises(KeyboardInterrupt):
            t.save(target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == [tl.TIMELINE_FILE], f"stray files: {os.listdir(tmp_path)}"


# --------------------------------------------------------------------------- Keras: training, evaluation, inspection
@pytest.fixture(scope="module")
def shapes_xy():
    from convexplorer.core.datasets.shapes import ShapesDataset

    ds = ShapesDataset(n=128, size=16, seed=1)
    return ds.materialize().astype(np.float32) / 255.0, ds.labels(), list(ds.class_names)


@pytest.fixture(scope="module")
def tiny(shapes_xy):
    """One tiny compiled convnet and its initial weights (reused: a fresh model costs a retrace)."""
    pytest.importorskip("keras")
    from convexplorer.core.training import tiny_convnet

    x, y, names = shapes_xy
    model = tiny_convnet(x.shape[1:], len(names), learning_rate=1e-2, seed=0, width=4)
    model(x[:1])
    return model, model.get_weights()


def _reset(model, weights) -> None:
    """Initial weights and a fresh optimizer state (Adam's moments and step count), keeping the learning rate."""
    model.set_weights(weights)
    for v in model.optimizer.variables:
        if not v.path.endswith("learning_rate"):
            v.assign(np.zeros(v.shape, v.dtype.name if hasattr(v.dtype, "name") else v.dtype))


@pytest.mark.slow
def test_training_cancelled_at_random_batches_keeps_an_honest_history_and_continues(tiny, shapes_xy, tmp_path):
    """Stop at every kind of moment (a training batch, a validation batch, an epoch's last batch).

    The stopped model must hold exactly the batches the history lists: its
    weights equal a plain ``train_on_batch`` loop over the same batches.
    """
    from convexplorer.core.timeline import TIMELINE_FILE, Timeline, TimelineRecorder
    from convexplorer.core.training import TrainingSession, TrainingSettings

    model, w0 = tiny
    x, y, names = shapes_xy
    bs, n_train, epochs = 16, 96, 2
    spe, val_batches = n_train // bs, (len(x) - n_train) // bs
    # the reference trajectory: weights after each of the first 2 epochs' batches
    _reset(model, w0)
    trajectory = [model.get_weights()]
    for step in range(epochs * spe):
        b = step % spe
        model.train_on_batch(x[b * bs : (b + 1) * bs], y[b * bs : (b + 1) * bs])
        trajectory.append(model.get_weights())

    def session(folder: Path):
        settings = TrainingSettings(epochs=epochs, batch_size=bs, shuffle=False, checkpoint="best")
        rec = TimelineRecorder(x[:2], probe_labels=y[:2], class_names=names, save_to=folder / TIMELINE_FILE)
        return TrainingSession(model, (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), settings,
                               checkpoint_dir=folder, callbacks=[rec])

    checks_per_epoch = spe + val_batches  # one after each training batch, one after each validation batch
    n = epochs * checks_per_epoch
    rng = random.Random(SEED + 8)
    for k in moments(n, rng, extra=2):
        e, r = divmod(k - 1, checks_per_epoch)
        steps = e * spe + min(r + 1, spe)  # a stop during validation ends that epoch's training
        what = f"training cancelled at check {k}/{n} (seed {SEED + 8})"
        _reset(model, w0)
        folder = tmp_path / f"run{k}"
        s = session(folder)
        flag = CancelFlag(at_check=k)
        result = run_bounded(lambda: s.run(cancel=flag), what).unwrap()
        assert flag.set_at is not None and time.monotonic() - flag.set_at < HANG_S
        assert result.reason == "stopped", f"{what}: {result.reason} {result.message}"
        assert result.steps_done == steps and s.steps_done == steps, what
        assert result.epochs_done == e + 1, what
        assert len(result.history.batch["loss"]) == steps and np.isfinite(result.history.batch["loss"]).all()
        assert len(result.history.epoch["loss"]) == e + 1
        val = result.history.epoch.get("val_loss", [math.nan] * (e + 1))  # no column when no validation ended
        assert len(val) == e + 1 and math.isnan(val[-1]), f"{what}: a cut validation was kept as a result: {val}"
        assert np.isfinite(val[:-1]).all(), what
        for a, b in zip(model.get_weights(), trajectory[steps]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=what)
        # the files of the run: whole and readable, nothing else
        assert set(os.listdir(folder)) <= {"best.keras", TIMELINE_FILE}, f"{what}: {os.listdir(folder)}"
        timeline = Timeline.load(folder / TIMELINE_FILE)
        assert len(timeline) == 1 + (e + 1), what  # before training, then one per epoch that ended
        if (folder / "best.keras").exists():
            from convexplorer.core.modelio import load_keras_model

            load_keras_model(folder / "best.keras")
        # and the session goes on: one more epoch
        more = run_bounded(lambda: s.run(epochs=1), f"{what}, continued").unwrap()
        assert more.reason == "completed", f"{what}: {more.message}"
        assert more.steps_done == steps + spe and more.epochs_done == e + 2
        assert len(more.history.batch["loss"]) == steps + spe



def test_a_validation_cut_by_a_stop_is_not_judged_by_the_other_callbacks(tiny, shapes_xy, tmp_path):
    """Stopped during validation: "best" checkpoints and early stopping must not see a partial val_loss."""
    import keras

    from convexplorer.core.training import TrainingSession, TrainingSettings

    model, w0 = tiny
    _reset(model, w0)
    x, y, _names = shapes_xy
    seen: list[dict] = []

    best_after_first: list[bytes] = []

    class Spy(keras.callbacks.Callback):  # runs after the checkpoint callback
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs or {}))
            if epoch == 0:
                best_after_first.append((tmp_path / "best.keras").read_bytes())

    settings = TrainingSettings(epochs=2, batch_size=16, shuffle=False, checkpoint="best")
    s = TrainingSession(model, (x[:96], y[:96]), (x[96:], y[96:]), settings, checkpoint_dir=tmp_path, callbacks=[Spy()])
    flag = CancelFlag(at_check=6 + 2 + 6 + 1)  # the first validation batch of the second epoch
    result = run_bounded(lambda: s.run(cancel=flag), "stop during validation").unwrap()
    assert result.reason == "stopped" and result.steps_done == 12
    assert "val_loss" in seen[0]
    assert not any(k.startswith("val_") for k in seen[1]), f"a cut validation reached the callbacks: {seen[1]}"
    # and the stopped epoch did not become the "best" checkpoint
    assert (tmp_path / "best.keras").read_bytes() == best_after_first[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]

def test_evaluation_cancelled_then_matches_the_model(tiny, shapes_xy):
    from convexplorer.core.evaluation import evaluate_model

    model, w0 = tiny
    _reset(model, w0)
    x, y, names = shapes_xy
    n = count_checks(lambda cancel: evaluate_model(model, (x, y), names, batch_size=16, cancel=cancel))
    assert n == 8
    rng = random.Random(SEED + 9)
    for k in moments(n, rng):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: evaluate_model(model, (x, y), names, batch_size=16, cancel=flag), f"evaluate k={k}")
        assert_cancelled(out, flag, f"evaluation cancelled at check {k}/{n}")
    res = evaluate_model(model, (x, y), names, batch_size=16)
    pred = np.argmax(np.asarray(model(x, training=False)), axis=1)
    np.testing.assert_array_equal(res.y_pred, pred)
    assert res.accuracy == pytest.approx(float(np.mean(pred == y)))
    assert res.confusion.sum() == len(y)


def test_filter_patterns_cancelled_then_equal_to_an_uncancelled_run(tiny):
    from convexplorer.core import inspect as ins

    model, w0 = tiny
    _reset(model, w0)

    def patterns(cancel=None):
        return ins.filter_patterns(model, "conv2", [0, 2, 5, 7], steps=5, size=16, batch_size=2, cancel=cancel, seed=4)

    reference = patterns()
    n = count_checks(patterns)
    assert n == 2 * (1 + 5)
    rng = random.Random(SEED + 10)
    for k in moments(n, rng, extra=2):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: patterns(flag), f"patterns k={k}")
        assert_cancelled(out, flag, f"filter patterns cancelled at check {k}/{n} (seed {SEED + 10})")
    np.testing.assert_allclose(patterns(), reference, rtol=1e-5, atol=1e-6)


def test_snapshot_with_cancelled_patterns_is_a_documented_partial_result(tiny, shapes_xy):
    from convexplorer.core import timeline as tl

    model, w0 = tiny
    _reset(model, w0)
    x, y, _names = shapes_xy
    settings = tl.RecorderSettings(patterns=True, pattern_filters=2, pattern_steps=3)
    layers = tl.default_layers(model, x.shape[1:])
    full = tl.record_snapshot(model, x[:2], settings, layers, "conv3", y[:2])
    assert full.patterns is not None
    flag = CancelFlag(at_check=2)
    part = run_bounded(
        lambda: tl.record_snapshot(model, x[:2], settings, layers, "conv3", y[:2], cancel=flag), "snapshot"
    ).unwrap()
    assert part.patterns is None  # the patterns were cancelled; the rest of the snapshot is whole
    np.testing.assert_allclose(part.probabilities, full.probabilities, rtol=1e-5)
    np.testing.assert_allclose(part.cams.astype(np.float32), full.cams.astype(np.float32), atol=1e-3)


def test_building_a_design_cancelled_then_built_whole():
    pytest.importorskip("keras")
    from convexplorer.core.builder import build_model
    from convexplorer.core.spec import LayerSpec, ModelSpec
    from convexplorer.core.summary import summarize

    spec = ModelSpec("cancel-me", (16, 16, 1), 3, [
        LayerSpec("Conv2D", {"filters": 4, "kernel_size": [3, 3]}),
        LayerSpec("MaxPooling2D", {}),
        LayerSpec("Conv2D", {"filters": 6, "kernel_size": [3, 3]}),
        LayerSpec("Flatten", {}),
        LayerSpec("Dense", {"units": 3, "activation": "softmax"}),
    ])
    n = count_checks(lambda cancel: build_model(spec, cancel=cancel))
    assert n == 1 + len(spec.layers)
    for k in moments(n, random.Random(SEED + 11)):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: build_model(spec, cancel=flag), f"build k={k}")
        assert_cancelled(out, flag, f"building cancelled at check {k}/{n}")
    model = build_model(spec)
    assert model.count_params() == summarize(spec).total
    assert [layer.name for layer in model.layers[1:]] == spec.layer_names()


def test_comparison_and_cell_cams_cancelled_then_equal_to_uncancelled_runs(tiny, shapes_xy):
    from convexplorer.core import compare
    from tests.models import small_convnet

    model, w0 = tiny
    _reset(model, w0)
    other = small_convnet((16, 16, 3), 4, seed=1)
    x, y, _names = shapes_xy

    def comparison(cancel=None):
        return compare.compare_on_image(model, other, x[3], cancel=cancel)

    ref = comparison()
    n = count_checks(comparison)
    assert n == 3
    for k in range(1, n + 1):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: comparison(flag), f"compare k={k}")
        assert_cancelled(out, flag, f"comparison cancelled at check {k}/{n}")
    again = comparison()
    np.testing.assert_allclose(again.a.probabilities, ref.a.probabilities, rtol=1e-5)
    np.testing.assert_allclose(again.b.cam, ref.b.cam, atol=1e-5)
    assert again.pairs == ref.pairs

    def cams(cancel=None):
        return compare.cell_cams(model, list(x[:5]), 1, 2, cancel=cancel)

    ref_cams = cams()
    for k in moments(5, random.Random(SEED + 12)):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: cams(flag), f"cell cams k={k}")
        assert_cancelled(out, flag, f"cell Grad-CAMs cancelled at check {k}/5")
    for a, b in zip(cams(), ref_cams):
        np.testing.assert_allclose(a.cam_pred, b.cam_pred, atol=1e-5)
        assert a.probability_true == pytest.approx(b.probability_true, rel=1e-5)


# --------------------------------------------------------------------------- the model zoo
MNV2_NOTOP_96 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"


def test_zoo_download_and_imagenet_build_cancelled_then_whole(server, tmp_path, monkeypatch):
    """Weights fetched through Keras's own constructor: cancel while downloading or checking, then build."""
    keras = pytest.importorskip("keras")
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    from convexplorer.core import zoo
    from convexplorer.core.download import part_path

    srv, base = server
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(zoo, "HASH_OVERRIDES", {})
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", base + "/")
    source = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3), alpha=0.35)
    h5 = tmp_path / MNV2_NOTOP_96
    with h5py.File(h5, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    srv.files["/" + MNV2_NOTOP_96] = h5.read_bytes()
    # a plain cached file with an MD5 (checked in chunks after the download)
    blob = _payload(1_200_000, 9)
    monkeypatch.setitem(zoo.HASH_OVERRIDES, "blob.bin", hashlib.md5(blob).hexdigest())
    srv.files["/blob.bin"] = blob
    dest = home / "models" / "blob.bin"

    def fetch(progress=None, cancel=None):
        return zoo.fetch_cached("blob.bin", "https://example.invalid/blob.bin", progress=progress, cancel=cancel)

    n = count_reports(lambda p: fetch(progress=p))
    dest.unlink()
    rng = random.Random(SEED + 13)
    for k in moments(n, rng, extra=2):
        flag = CancelFlag()
        out = run_bounded(lambda: fetch(progress=cancel_after_reports(k, flag), cancel=flag), f"fetch k={k}")
        what = f"zoo fetch cancelled at report {k}/{n} (seed {SEED + 13})"
        if k == n:  # the last report announces the MD5 check, which looks at the flag per megabyte
            assert_cancelled(out, flag, what)
            assert dest.read_bytes() == blob, f"{what}: a file whose check was cancelled must still be whole"
            dest.unlink()
        else:
            assert_cancelled(out, flag, what)
            assert not dest.exists(), what
        assert set(os.listdir(dest.parent)) <= {"blob.bin.part"}, what
        part_path(dest).unlink(missing_ok=True)
    assert fetch() == dest and dest.read_bytes() == blob

    def build(progress=None, cancel=None):
        return zoo.build_application("MobileNetV2", "imagenet", input_shape=(96, 96, 3), alpha=0.35,
                                     progress=progress, cancel=cancel)

    cached = home / "models" / MNV2_NOTOP_96
    for k in (2 + rng.randrange(3),):  # while the weights arrive
        flag = CancelFlag()
        out = run_bounded(lambda: build(progress=cancel_after_reports(k, flag), cancel=flag), f"build k={k}")
        assert_cancelled(out, flag, f"ImageNet build cancelled at report {k}")
        assert not cached.exists()
        assert getattr(zoo._capture, "active", None) is None, "the download hook stayed active after a cancel"
    model = run_bounded(lambda: build(), "build").unwrap()
    assert cached.read_bytes() == h5.read_bytes()
    assert not part_path(cached).exists()
    for a, b in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
