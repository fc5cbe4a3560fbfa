"""Headless Chromium driven over the DevTools protocol (aiohttp's websocket client): open a page, press
keys, type into the focused field, read values back. Only what the review-page test needs."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from monitor.dashboard.browser import ChromiumMissing, find_chromium

LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--remote-debugging-port=0"]  # fmt: skip
KEYS = {  # key -> (code, Windows virtual key code, text)
    "Enter": ("Enter", 13, "\r"),
    "Escape": ("Escape", 27, ""),
    "Backspace": ("Backspace", 8, ""),
}


def _key_event(key: str) -> dict[str, Any]:
    if key in KEYS:
        code, virtual, text = KEYS[key]
    elif key.isdigit():
        code, virtual, text = f"Digit{key}", ord(key), key
    else:
        code, virtual, text = f"Key{key.upper()}", ord(key.upper()), key
    return {"key": key, "code": code, "windowsVirtualKeyCode": virtual, "text": text}


class Page:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        request_id = next(self.ids)
        await self.socket.send_str(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads((await self.socket.receive(timeout=30)).data)
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy (a throw counts as not yet: the page may still be
        loading); fail with its last value and the page's errors."""
        deadline = time.monotonic() + timeout
        while not (value := await self._try(expression)):
            if time.monotonic() > deadline:
                errors = await self.evaluate("document.getElementById('errors')?.textContent")
                raise AssertionError(f"timed out waiting for {expression} (last {value!r}); page errors: {errors}")
            await asyncio.sleep(0.1)
        return value

    async def _try(self, expression: str) -> Any:
        try:
            return await self.evaluate(expression)
        except RuntimeError:
            return None

    async def press(self, key: str) -> None:
        event = _key_event(key)
        await self.send("Input.dispatchKeyEvent", type="keyDown", **event)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **{k: v for k, v in event.items() if k != "text"})

    async def type(self, text: str) -> None:
        await self.send("Input.insertText", text=text)


async def _devtools_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = await asyncio.to_thread(process.stderr.readline)
        if match := LISTENING.search(line):
            return match.group(1)
        if not line and process.poll() is not None:
            break
    raise RuntimeError("chromium did not open its DevTools port")


def _stop(process: subprocess.Popen[str]) -> None:
    """Chromium and its helper processes (its own process group, started for it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@asynccontextmanager
async def open_page(url: str) -> AsyncIterator[Page]:
    binary = find_chromium()
    if binary is None:
        raise ChromiumMissing("no Chromium on PATH")
    # Chromium's helper processes may still write to the profile while it closes: cleanup errors are not ours
    with tempfile.TemporaryDirectory(prefix="finmon-cdp-", ignore_cleanup_errors=True) as profile:
        flags = [*FLAGS, f"--user-data-dir={profile}"]
        process = subprocess.Popen(
            [binary, *flags, "about:blank"], stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            browser = await _devtools_url(process)
            port = browser.split("/")[2]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://{port}/json/list") as answer:
                    targets = await answer.json()
                page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
                async with session.ws_connect(page_url, max_msg_size=0) as socket:
                    page = Page(socket)
                    await page.send("Page.enable")
                    await page.send("Page.navigate", url=url)
                    yield page
        finally:
            _stop(process)
