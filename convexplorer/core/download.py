"""Download a file with progress, cancel, resume and checksum, into a cache.

:func:`download_file` streams a URL into ``dest.part`` next to the target,
resumes a partial ``.part`` with an HTTP ``Range`` request (and starts over
cleanly when the server ignores it), verifies the SHA-256 and only then moves
the file into place with ``os.replace``. A complete cached file with the right
hash is returned without touching the network, so everything works offline
once it has been fetched (or copied into place by hand).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

from .errors import DownloadError
from .progress import ProgressFn, check_cancel, report

#: Bytes read per chunk; small enough that cancel is noticed promptly.
CHUNK_SIZE = 64 * 1024
#: How often a cut connection is resumed automatically before giving up.
DEFAULT_RETRIES = 2
#: How often a read waiting on a silent server wakes up to look at the cancel flag.
CANCEL_POLL_S = 0.1
USER_AGENT = "ConvExplorer (+https://github.com/) python-urllib"


def sha256_of(path: str | os.PathLike[str], cancel: Optional[threading.Event] = None) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    return file_digest(path, "sha256", cancel)


def file_digest(path: str | os.PathLike[str], algorithm: str, cancel: Optional[threading.Event] = None) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file, read in chunks, checking ``cancel`` between them."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while True:
            check_cancel(cancel)
            block = fh.read(1 << 20)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def part_path(dest: str | os.PathLike[str]) -> Path:
    """Where the partial download of ``dest`` is kept."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def _offline_error(url: str, dest: Path, reason: object) -> DownloadError:
    host = urllib.parse.urlsplit(url).netloc or url
    return DownloadError(
        f"you appear to be offline: could not reach {host} ({reason}); "
        f"put the file at {dest} to use it offline"
    )


def _parse_content_range(value: str | None) -> tuple[int, int | None] | None:
    """``bytes START-END/TOTAL`` -> (START, TOTAL or None)."""
    if not value or not value.startswith("bytes "):
        return None
    try:
        span, _, total = value[6:].partition("/")
        start = int(span.split("-")[0])
        return start, (int(total) if total.strip() not in ("", "*") else None)
    except ValueError:
        return None


class _CancellableSocket:
    """Stands in for a response's socket so that a read blocked on a silent server notices ``cancel``.

    The real socket waits at most :data:`CANCEL_POLL_S` per try; a read is
    tried again until ``timeout`` seconds pass without data (then
    ``socket.timeout``, as before) and raises :class:`Cancelled` as soon as
    ``cancel`` is set, instead of holding a cancelled download for the whole
    timeout. Everything else goes to the real socket.
    """

    def __init__(self, sock: socket.socket, cancel: threading.Event, timeout: float) -> None:
        self._sock = sock
        self._cancel = cancel
        self._timeout = timeout

    def recv_into(self, *args: object) -> int:
        deadline = time.monotonic() + self._timeout
        while True:
            check_cancel(self._cancel)
            try:
                return self._sock.recv_into(*args)  # type: ignore[arg-type]
            except socket.timeout:
                if time.monotonic() >= deadline:
                    raise

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def _cancellable_reads(response: object, cancel: Optional[threading.Event], timeout: float) -> None:
    """Let ``cancel`` interrupt reads of ``response``'s body (http.client reads through ``fp.raw._sock``)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    if cancel is None or not isinstance(sock, socket.socket):
        return  # not a socket stream we know: reads block up to the timeout as before
    sock.settimeout(min(CANCEL_POLL_S, timeout))
    raw._sock = _CancellableSocket(sock, cancel, timeout)  # type: ignore[union-attr]


def _fetch_once(
    url: str,
    dest: Path,
    part: Path,
    progress: Optional[ProgressFn],
    cancel: Optional[threading.Event],
    timeout: float,
) -> bool:
    """One HTTP attempt into ``part``; True when the body arrived complete."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have > 0:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only, checked by caller
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have > 0:
            # Range not satisfiable: the partial file is as long as (or longer
            # than) the resource. Start over cleanly rather than guess.
            exc.close()
            part.unlink(missing_ok=True)
            return False
        exc.close()
        raise DownloadError(f"the server refused the download of {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _offline_error(url, dest, reason) from None

    with response:
        _cancellable_reads(response, cancel, timeout)
        status = getattr(response, "status", 200)
        length = response.headers.get("Content-Length")
        body_len = int(length) if length and length.isdigit() else None
        if have > 0 and status == 206:
            crange = _parse_content_range(response.headers.get("Content-Range"))
            if crange is None or crange[0] != have:
                # A range we did not ask for: throw the partial file away.
                raise DownloadError(f"the server sent an unexpected range for {url}; try again")
            mode, start = "ab", have
            total = crange[1] if crange[1] is not None else (have + body_len if body_len is not None else None)
        else:
            # Fresh download, or the server ignored Range (200): restart cleanly.
            mode, start = "wb", 0
            total = body_len
        done = start
        name = dest.name
        report(progress, done, total or 0, f"downloading {name}")
        with open(part, mode) as fh:
            while True:
                check_cancel(cancel)
                try:
                    block = response.read(CHUNK_SIZE)
                except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError, OSError) as exc:
                    if isinstance(exc, http.client.IncompleteRead) and exc.partial:
                        fh.write(exc.partial)
                    return False
                if not block:
                    break
                fh.write(block)
                done += len(block)
                msg = f"downloading {name}: {_human(done)}" + (f" of {_human(total)}" if total else "")
                report(progress, done, total or 0, msg)
        if total is not None and done < total:
            return False
        return True


def download_file(
    url: str,
    dest: Path,
    sha256: str | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    timeout: float = 30.0,
    retries: int = DEFAULT_RETRIES,
) -> Path:
    """Download ``url`` to ``dest`` (resuming, verifying ``sha256``) and return ``dest``.

    A complete ``dest`` whose hash matches (or any existing ``dest`` when no
    hash is given) is returned without network access. Raises
    :class:`DownloadError` when offline, on HTTP errors, a cut connection that
    does not resume, or a bad checksum (the bad file is deleted), and
    :class:`Cancelled` when ``cancel`` is set (the partial file is kept so the
    next call resumes it).
    """
    dest = Path(dest)
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise DownloadError(f"can only download http:// or https:// addresses, received {url!r}")
    expected = sha256.lower().strip() if sha256 else None
    if dest.is_file():
        if expected is None:
            return dest
        report(progress, 0, 0, f"checking {dest.name}")
        if sha256_of(dest, cancel) == expected:
            return dest
        # A damaged or outdated cached file: download it again.
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the folder {dest.parent}: {exc.strerror or exc}") from None
    part = part_path(dest)
    attempts = max(0, int(retries)) + 1
    complete = False
    for _ in range(attempts):
        check_cancel(cancel)
        try:
            complete = _fetch_once(url, dest, part, progress, cancel, timeout)
        except DownloadError as exc:
            if "unexpected range" in str(exc):
                part.unlink(missing_ok=True)
                continue
            raise
        if complete:
            break
    if not complete:
        have = part.stat().st_size if part.exists() else 0
        raise DownloadError(
            f"the connection to {urllib.parse.urlsplit(url).netloc} was cut after {_human(have)} "
            f"({attempts} tries); try again to resume, or put the file at {dest}"
        )
    if expected is not None:
        size = part.stat().st_size
        report(progress, size, size, f"verifying {dest.name}")
        actual = sha256_of(part, cancel)
        if actual != expected:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"checksum mismatch for {dest.name}: expected SHA-256 {expected}, received {actual}; "
                "the damaged download was deleted, try again"
            )
    try:
        os.replace(part, dest)
    except OSError as exc:
        raise DownloadError(f"cannot move the download into {dest}: {exc.strerror or exc}") from None
    return dest
