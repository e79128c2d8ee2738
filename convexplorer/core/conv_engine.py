"""The stride-1 correlation engine behind the Playground: banded-Toeplitz matrix products on two threads.

:func:`convexplorer.core.conv.conv2d` sends stride-1 convolutions here (the
Playground's common case, and what the 16 ms budget is about); strided ones
keep the per-tap engine in :mod:`convexplorer.core.conv`, which already does
a quarter of the work or less.

The idea, for a block of ``B`` output rows and one kernel column ``b``: the
``kh`` kernel taps of that column combine ``B + dy*(kh-1)`` input rows, which
is one small matrix product ``T_b (B x K) @ rows (K x width)`` with a banded
(Toeplitz) ``T_b`` holding the kernel column on its diagonals. Stacking the
``kw`` matrices ``T_b`` gives one product per row block, ``(kw*B x K) @
(K x width)``, whose ``kw`` row groups are then added with their column shift
``b*dx``. So the ``kh*kw`` multiply-adds of each output pixel run inside BLAS
(``sgemm``, about 3x the speed of one ``axpy`` a tap here) instead of one
Python call per tap.

Two threads split the row blocks: numpy releases the GIL inside ``matmul``
and ``sum``, so on two cores they run side by side. Each product is kept
under OpenBLAS's own threading threshold (M*N*K <= 65536*4): OpenBLAS then
stays on the calling thread, and no spinning BLAS threads fight ours or the
GUI thread on a busy 2-core machine. The threads are started and joined inside
one call, so none outlive it.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: OpenBLAS runs an sgemm on one thread up to this M*N*K (SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD).
_BLAS_SINGLE_THREAD_MNK = 65536 * 4
#: Threads a call may use (the calling one included); tests set 1 to compare.
WORKERS = max(1, min(2, os.cpu_count() or 1))
#: Below this many multiply-adds a second thread is not worth it: 3x3 and 5x5 kernels on 512x512x3 (7 and 20
#: million) take a few ms on one thread, and on a loaded machine waiting for the second thread's turn cost more
#: than it saved (benchmarks/playground.py, "now" against "1 thread"); 7x7 and up (38 million) split.
_PARALLEL_MIN_MACS = 30_000_000
#: Narrowest column chunk worth a matrix product; below it :func:`correlate` declines (returns None).
_MIN_CHUNK = 32


def _block_rows(kh: int, dy: int) -> int:
    """Output rows a product covers: small blocks waste few zeros in the banded matrix (measured best 2-4)."""
    return 4 if dy * (kh - 1) <= 4 else 2


def correlate(
    x: np.ndarray,
    weights: np.ndarray,
    padding: tuple[tuple[int, int], tuple[int, int]],
    dilation: tuple[int, int],
    per_channel: bool,
    workers: int | None = None,
) -> np.ndarray | None:
    """Stride-1 correlation of ``x`` (H x W x C float32), zero-padded by ``padding``.

    ``per_channel``: ``weights`` is kh x kw, applied to each channel (result
    H' x W' x C). Otherwise ``weights`` is kh x kw x C x F and sums over the
    channels (result H' x W' x F). Returns None when the shapes do not suit
    the engine (the caller then uses the per-tap engine); the caller has
    checked that the output is not empty.
    """
    (t, b), (l, r) = padding
    dy, dx = dilation
    h, w, c = x.shape
    kh, kw = weights.shape[:2]
    hp, wp = h + t + b, w + l + r
    oh, ow = hp - dy * (kh - 1), wp - dx * (kw - 1)
    bsz = _block_rows(kh, dy)
    n_blocks = -(-oh // bsz)
    rows = n_blocks * bsz + dy * (kh - 1)  # every block full: spare zero rows at the bottom
    if per_channel:
        # channels stay interleaved: a row is wp*c numbers and a kernel column shifts by dx*c
        planes = np.zeros((1, rows, wp * c), np.float32)
        planes[0, t : t + h].reshape(h, wp, c)[:, l : l + w] = x
        w4 = weights.reshape(kh, kw, 1, 1)
        step, width, n_out = dx * c, ow * c, 1
    else:
        planes = np.zeros((c, rows, wp), np.float32)
        planes[:, t : t + h, l : l + w] = np.moveaxis(x, 2, 0)
        w4 = weights
        step, width, n_out = dx, ow, weights.shape[3]
    plan = _Plan(planes, w4, bsz, dy, step, width)
    if plan.chunk < min(width, _MIN_CHUNK):
        return None
    out = np.empty((n_out, n_blocks * bsz, width), np.float32)
    workers = WORKERS if workers is None else max(1, workers)
    macs = oh * width * kh * kw * planes.shape[0] * n_out
    tasks = [(f, c0) for f in range(n_out) for c0 in range(0, width, plan.chunk)]
    if workers < 2 or macs < _PARALLEL_MIN_MACS or n_blocks < 2:
        for f, c0 in tasks:
            plan.run(out, f, c0, 0, n_blocks)
    else:
        half = n_blocks // 2
        _two_threads(
            lambda: [plan.run(out, f, c0, 0, half) for f, c0 in tasks],
            lambda: [plan.run(out, f, c0, half, n_blocks) for f, c0 in tasks],
        )
    out = out[:, :oh]
    if per_channel:
        return out[0].reshape(oh, ow, c)
    return out[0][..., None] if n_out == 1 else np.moveaxis(out, 0, 2)


class _Plan:
    """The banded matrices and strided views of one correlation; :meth:`run` fills row blocks of one column chunk."""

    def __init__(self, planes: np.ndarray, w4: np.ndarray, bsz: int, dy: int, step: int, width: int) -> None:
        n_planes, rows, row_len = planes.shape
        kh, kw, _, n_out = w4.shape
        self.bsz, self.kw, self.step, self.width = bsz, kw, step, width
        self.k = bsz + dy * (kh - 1)  # input rows one block of output rows reads
        self.halo = (kw - 1) * step  # extra columns the kernel's width reads
        m = kw * bsz
        # T[f, p, b*bsz + i, i + a*dy] = w4[a, b, p, f]: kernel column b on the diagonals of its bsz x K block
        t = np.zeros((n_out, n_planes, kw, bsz, self.k), np.float32)
        i = np.arange(bsz)
        for a in range(kh):
            t[:, :, :, i, i + a * dy] = np.transpose(w4[a], (2, 1, 0))[..., None]
        self.t = t.reshape(n_out, n_planes, m, self.k)
        self.chunk = min(width, _BLAS_SINGLE_THREAD_MNK // (m * self.k) - self.halo)
        s0, s1, s2 = planes.strides
        n_blocks = (rows - (self.k - bsz)) // bsz
        # blocks[g, p] = the K x row_len rows block g reads from plane p (blocks overlap by K - bsz rows)
        self.blocks = as_strided(planes, shape=(n_blocks, n_planes, self.k, row_len), strides=(bsz * s1, s0, s1, s2))
        self.group = max(1, 16 // bsz)  # row blocks per matmul call (one call, several products)

    def run(self, out: np.ndarray, f: int, c0: int, g0: int, g1: int) -> None:
        """Fill ``out[f]`` for row blocks ``g0:g1`` and the column chunk starting at ``c0``."""
        n = min(self.chunk, self.width - c0)
        span = n + self.halo
        t = self.t[f]
        n_planes, m = t.shape[0], t.shape[1]
        buf = np.empty((self.group, n_planes, m, span), np.float32)
        bs = buf.strides
        bsz, kw = self.bsz, self.kw
        # the kw row groups of each product, each shifted left by its column b*step (summed below)
        shifted = as_strided(
            buf, shape=(n_planes, kw, self.group, bsz, n), strides=(bs[1], bsz * bs[2] + self.step * bs[3], bs[0], bs[2], bs[3])
        )
        for start in range(g0, g1, self.group):
            g = min(self.group, g1 - start)
            np.matmul(t, self.blocks[start : start + g, :, :, c0 : c0 + span], out=buf[:g])
            target = out[f, start * bsz : (start + g) * bsz, c0 : c0 + n].reshape(g, bsz, n)
            np.sum(shifted[:, :, :g], axis=(0, 1), out=target)


def _two_threads(first, second) -> None:
    """Run ``second`` on a new thread and ``first`` here; join, and re-raise an error from either."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            second()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            errors.append(exc)

    thread = threading.Thread(target=target, name="convexplorer-conv", daemon=True)
    thread.start()
    try:
        first()
    finally:
        thread.join()
    if errors:
        raise errors[0]
