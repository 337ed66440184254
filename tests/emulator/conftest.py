"""Fixtures of the emulator tests (the ``anyio_backend`` pair comes from ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cincopa_async.testing import CincopaEmulator
from cincopa_async.testing._pytest_plugin import cincopa_client, cincopa_emulator

__all__ = ["cincopa_client", "cincopa_emulator"]


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=0, webhook_retry_delays=(0.01, 0.02, 0.05)) as emulator:
        yield emulator


@pytest.fixture
def token(emu: CincopaEmulator) -> str:
    return emu.create_token()


@pytest.fixture
async def http(emu: CincopaEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emu.http_client(timeout=5) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient, token: str) -> Any:
    """``await api("gallery.create", name="x")`` -> the JSON reply (asserts HTTP 200)."""

    async def call(
        operation: str, *, _token: str | None = None, _method: str = "GET", **params: Any
    ) -> dict[str, Any]:
        query = {"api_token": token if _token is None else _token}
        query.update({k.rstrip("_"): str(v) for k, v in params.items()})
        response = await http.request(_method, f"{operation}.json", params=query)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return call


@pytest.fixture(autouse=True)
def strict_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SDK call against the emulator structures its reply with the STRICT converter.

    So a field the emulator sends that the models do not know (or the reverse drift) fails here
    instead of being ignored by the lenient converter.
    """
    from cincopa_async import _client
    from cincopa_async._converter import make_converter

    monkeypatch.setattr(
        _client,
        "_CONVERTERS",
        [make_converter(strict=True, detailed=False), make_converter(strict=True)],
    )
