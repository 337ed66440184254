"""Helpers shared by the emulator tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx

# A copy of ../shared/cincopa-api/endpoints.json (tests/test_spec.py keeps it current), so the
# tests also run on a clone without ../shared beside it.
ENDPOINTS_JSON = Path(__file__).parents[1] / "fixtures" / "endpoints.json"

Api = Callable[..., Awaitable[dict[str, Any]]]
Scope = MutableMapping[str, Any]


class Receiver:
    """A tiny ASGI app recording POSTs; the first ``fail_first`` get HTTP 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls += 1
        status = 500 if self.calls <= self.fail_first else 200
        if status == 200:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.received.append((headers, body))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def upload_raw(
    http: httpx.AsyncClient,
    url: str,
    data: bytes,
    name: str,
    *,
    start: int | None = None,
    total: int | None = None,
    unique_id: str | None = None,
) -> httpx.Response:
    headers = {"X-File-Name": name, "Content-Type": "multipart/form-data"}
    if start is not None:
        headers["Content-Range"] = f"bytes {start}-{start + len(data)}/{total}"
    if unique_id is not None:
        headers["unique-id"] = unique_id
    return await http.post(url, content=data, headers=headers)


def rid_of(reply_text: str) -> str:
    for line in reply_text.splitlines():
        if line.startswith("new resource id "):
            return line.split()[-1]
    raise AssertionError(f"no resource id in {reply_text!r}")
