"""In-process transport: ``httpx.ASGITransport`` plus real-looking network failures.

* The app's drop signal (``ConnectionDropped``) becomes ``httpx.RemoteProtocolError`` ("Server
  disconnected without sending a response."), as httpcore raises for a real dropped connection.
* The request's read timeout (``request.extensions["timeout"]["read"]``) is enforced with anyio,
  so a stalled reply raises ``httpx.ReadTimeout`` instead of hanging (``ASGITransport`` itself
  has no timeouts).
"""

from __future__ import annotations

import math

import anyio
import httpx

from ._app import ConnectionDropped, EmulatorApp

__all__ = ["EmulatorTransport"]


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` that sends requests straight to the emulator app."""

    def __init__(self, app: EmulatorApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)

    def __repr__(self) -> str:
        return "<EmulatorTransport>"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout") or {}
        read = timeout.get("read")
        deadline = math.inf if read is None else float(read)
        try:
            with anyio.fail_after(deadline):
                response = await self._inner.handle_async_request(request)
                await response.aread()
                return response
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out waiting for the emulator", request=request) from exc
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()
