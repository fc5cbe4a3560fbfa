"""A daemon thread that runs submitted calls in order and hands their results to the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any


class DaemonThread:
    """Runs submitted calls one after another in a daemon thread (order kept; never blocks process exit)."""

    def __init__(self, name: str) -> None:
        self._calls: SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = SimpleQueue()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def close(self, timeout: float) -> None:
        """Cancel what is queued and wait up to `timeout` for the running call: native code (torch, ONNX
        Runtime) still running in a thread while the interpreter finalises aborts the process."""
        self._closing = True
        self._calls.put(None)
        self._thread.join(timeout)

    def submit(self, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future: Future[Any] = Future()
        self._calls.put((future, func, args))
        return asyncio.wrap_future(future)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, func, args = call
            if self._closing:
                future.cancel()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(func(*args))
            except BaseException as exc:
                future.set_exception(exc)
