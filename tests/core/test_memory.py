"""Memory of a long session: no traced graph left behind by training, malloc arenas capped."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from convexplorer.core.memory import (  # noqa: E402
    custom_gradient_names,
    custom_gradients_released,
    forget_custom_gradients,
    limit_malloc_arenas,
)
from convexplorer.core.training import TrainingSession, TrainingSettings, tiny_convnet  # noqa: E402


def _traced_train_steps() -> int:
    """Live traced Keras train steps (``one_step_on_data`` atomic functions) in this process."""
    from tensorflow.python.eager.polymorphic_function.atomic_function import AtomicFunction

    gc.collect()
    return sum(
        1 for o in gc.get_objects() if isinstance(o, AtomicFunction) and b"one_step_on_data" in bytes(o.name)
    )


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 8, 8, 1), dtype=np.float32), (np.arange(n) % 2).astype(np.int32)


def test_the_block_removes_exactly_the_registrations_made_inside_it():
    @tf.custom_gradient
    def doubled(x):
        return 2.0 * x, lambda dy: 2.0 * dy

    @tf.function
    def outer(x):
        return doubled(x)

    kept = outer.get_concrete_function(tf.TensorSpec([3]))  # registered outside: must stay
    outside = custom_gradient_names()
    with custom_gradients_released():
        outer.get_concrete_function(tf.TensorSpec([4]))  # a second trace registers one more
        assert len(custom_gradient_names() - outside) == 1
    assert custom_gradient_names() == outside
    assert kept is not None
    assert forget_custom_gradients({"CustomGradient-not-registered"}) == 0


def test_training_leaves_no_registrations_and_its_graph_can_be_freed():
    x, y = _data()
    baseline_names = custom_gradient_names()
    baseline_steps = _traced_train_steps()
    session = TrainingSession(tiny_convnet((8, 8, 1), 2), (x, y), settings=TrainingSettings(epochs=1, batch_size=16))
    assert session.run().ok
    assert custom_gradient_names() == baseline_names
    assert _traced_train_steps() > baseline_steps  # the session's model holds its trace
    del session
    assert _traced_train_steps() == baseline_steps  # and nothing else does


def test_continuing_after_the_registrations_are_gone_still_trains():
    x, y = _data()
    session = TrainingSession(tiny_convnet((8, 8, 1), 2), (x, y), settings=TrainingSettings(epochs=1, batch_size=16))
    assert session.run().ok
    before = [w.copy() for w in session.model.get_weights()]
    result = session.run(epochs=1)
    assert result.ok and result.epochs_done == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, session.model.get_weights()))


_ARENA_PROBE = r"""
import ctypes, os, sys, tempfile, threading
sys.path.insert(0, {root!r})
from convexplorer.core.memory import limit_malloc_arenas
capped = limit_malloc_arenas(2) if sys.argv[1] == "cap" else False
start = threading.Barrier(8)
def work():
    start.wait()  # all at once, so that each may want an arena of its own
    keep = [bytearray(4000) for _ in range(2000)]
    start.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
path = tempfile.mktemp()
fh = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(fh))
libc.fclose(ctypes.c_void_p(fh))
text = open(path).read()
os.remove(path)
print(capped, text.count("<heap nr="))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_arena_cap_is_what_glibc_reports():
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}

    def heaps(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", _ARENA_PROBE.format(root=root), mode],
                             capture_output=True, text=True, env=env, timeout=60, check=True).stdout.split()
        return out[0], int(out[1])

    capped, n_capped = heaps("cap")
    assert capped == "True" and 1 <= n_capped <= 2
    _, n_free = heaps("free")
    assert n_free > 2  # the reference: without the cap, the same threads get arenas of their own


def test_a_user_setting_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_malloc_arenas(2) is False
    with pytest.raises(ValueError):
        limit_malloc_arenas(0)
