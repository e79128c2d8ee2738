"""Background requests of which only the newest of each kind counts (analysis, maps, Grad-CAM, patterns, examples...)."""

from __future__ import annotations

from typing import Any, Callable

from convexplorer.ui.workers import StartWork


class LatestOnly:
    """Starts core calls in workers and hands on a result only if no newer request of its kind was made."""

    def __init__(self, start: StartWork, busy: Callable[[str], None],
                 delivered: Callable[[str], None], failed: Callable[[str, str], None]) -> None:
        self._start = start
        self._busy = busy
        self._delivered = delivered
        self._failed = failed
        self._tokens: dict[str, int] = {}

    def next_token(self, kind: str) -> int:
        """A new request of ``kind``: older ones' results will be dropped."""
        self._tokens[kind] = self._tokens.get(kind, 0) + 1
        return self._tokens[kind]

    def is_current(self, kind: str, token: int) -> bool:
        """Whether ``token`` is the newest request of ``kind``."""
        return self._tokens.get(kind) == token

    def submit(self, kind: str, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None]) -> None:
        """Run ``fn(*args)`` in a worker; ``on_result`` gets its value if it is still the newest of ``kind``."""
        token = self.next_token(kind)
        worker = self._start(fn, *args)
        if worker is None:
            return
        self._busy("computing…")
        worker.result.connect(lambda value, t=token: self.deliver(kind, t, value, on_result))
        worker.error.connect(lambda msg, det, t=token: self._tokens.get(kind) == t and self._failed(msg, det))

    def deliver(self, kind: str, token: int, value: Any, on_result: Callable[[Any], None]) -> None:
        """Pass ``value`` to ``on_result`` and announce ``kind`` as drawn, unless a newer request was made."""
        if self._tokens.get(kind) != token:
            return  # an older request: a newer one is on its way
        self._busy("")
        on_result(value)
        self._delivered(kind)
