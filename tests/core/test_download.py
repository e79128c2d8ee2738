"""core.download against a local HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading

import pytest

from convexplorer.core.download import download_file, part_path, sha256_of
from convexplorer.core.errors import Cancelled, DownloadError

PAYLOAD = bytes((i * 7 + i // 251) % 256 for i in range(300_000))
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at several paths with different misbehaviours."""

    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args):  # silence
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        start = 0
        if rng and self.path in ("/file", "/cut_once", "/always_cut", "/slow"):
            start = int(rng.split("=")[1].split("-")[0])
        if self.path == "/missing":
            self.send_error(404, "Not Found")
            return
        body = PAYLOAD[start:]
        cut = None
        if self.path == "/cut_once" and srv.cuts_left > 0:
            srv.cuts_left -= 1
            cut = len(body) // 2
        if self.path == "/always_cut":
            cut = max(1, len(body) // 3)
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if self.path == "/slow":
            # Send a little, then wait until the test releases us.
            self.wfile.write(body[:1000])
            self.wfile.flush()
            srv.release.wait(10)
            return
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str | None]] = []
        self.cuts_left = 1
        self.release = threading.Event()


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv, base
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_download_verifies_and_reports_progress(server, tmp_path):
    srv, base = server
    calls = []
    dest = tmp_path / "sub" / "data.bin"
    out = download_file(f"{base}/file", dest, sha256=PAYLOAD_SHA, progress=lambda d, t, m: calls.append((d, t)))
    assert out == dest
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists()
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha256_of(dest)


def test_cached_file_needs_no_network(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    # Port 1 on localhost refuses: any network use would fail.
    out = download_file("http://127.0.0.1:1/file", dest, sha256=PAYLOAD_SHA)
    assert out == dest and dest.read_bytes() == PAYLOAD
    assert srv.requests == []


def test_damaged_cache_is_downloaded_again(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"old junk")
    download_file(f"{base}/file", dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD


def test_resume_uses_range(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    part_path(dest).write_bytes(PAYLOAD[:100_000])
    download_file(f"{base}/file", dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert srv.requests == [("/file", "bytes=100000-")]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    # "/norange" answers 200 with the whole body even when asked for a range.
    part_path(dest).write_bytes(b"x" * 5000)
    download_file(f"{base}/norange", dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert srv.requests[0][1] == "bytes=5000-"


def test_cut_connection_is_resumed(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    download_file(f"{base}/cut_once", dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert len(srv.requests) == 2
    first, second = srv.requests
    assert first[1] is None
    # The second request resumed at whatever had arrived (about half).
    offset = int(second[1].split("=")[1].rstrip("-"))
    assert 0 < offset <= len(PAYLOAD) // 2


def test_connection_cut_every_time_keeps_part_and_says_so(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="cut after"):
        download_file(f"{base}/always_cut", dest, sha256=PAYLOAD_SHA, retries=1)
    assert not dest.exists()
    kept = part_path(dest).read_bytes()
    assert 0 < len(kept) < len(PAYLOAD)
    assert PAYLOAD.startswith(kept)
    # A later call against a good server resumes from the kept bytes.
    srv.requests.clear()
    download_file(f"{base}/file", dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert srv.requests == [("/file", f"bytes={len(kept)}-")]


def test_wrong_checksum_deletes_and_raises(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="checksum mismatch.*expected SHA-256 0{64}.*received " + PAYLOAD_SHA):
        download_file(f"{base}/file", dest, sha256="0" * 64)
    assert not dest.exists()
    assert not part_path(dest).exists()


def test_no_checksum_accepts_file(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    download_file(f"{base}/file", dest)
    assert dest.read_bytes() == PAYLOAD


def test_http_error_is_readable(server, tmp_path):
    srv, base = server
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(f"{base}/missing", tmp_path / "x.bin")


def test_refused_port_says_offline(tmp_path):
    # Find a port nobody listens on: bind, read the number, close.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    dest = tmp_path / "mnist.npz"
    with pytest.raises(DownloadError) as info:
        download_file(f"http://127.0.0.1:{port}/mnist.npz", dest, timeout=5)
    msg = str(info.value)
    assert msg.startswith("you appear to be offline: could not reach 127.0.0.1:")
    assert f"put the file at {dest} to use it offline" in msg
    assert not dest.exists()


def test_cancel_stops_promptly_and_keeps_part(server, tmp_path):
    srv, base = server
    dest = tmp_path / "data.bin"
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        download_file(f"{base}/file", dest, progress=lambda d, t, m: cancel.set() if d > 0 else None, cancel=cancel)
    assert not dest.exists()
    kept = part_path(dest)
    assert kept.exists() and PAYLOAD.startswith(kept.read_bytes())
    assert kept.stat().st_size < len(PAYLOAD)


def test_refuses_non_http(tmp_path):
    with pytest.raises(DownloadError, match="http"):
        download_file("file:///etc/passwd", tmp_path / "x")
