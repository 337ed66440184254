"""Shared fixtures: both anyio backends, golden replies, clients on a recording MockTransport."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from cincopa_async import AsyncCincopa

if TYPE_CHECKING:
    from cincopa_async.testing import CincopaEmulator

# Hypothesis: a short run in every test session, a long one for `nox -s fuzz`.
settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
TOKEN = "1234567iexampletokenabcdefghijklmn"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@pytest.fixture(autouse=True)
def no_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients made without ``base_url`` mean the real API's, whatever the shell exported."""
    monkeypatch.delenv("CINCOPA_BASE_URL", raising=False)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def golden(name: str) -> dict[str, Any]:
    """The golden reply of one operation, from tests/fixtures/replies/<name>.json."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def operation_of(request: httpx.Request) -> str:
    """``asset.list`` for ``/v2/asset.list.json``."""
    return request.url.path.rsplit("/", 1)[-1].removesuffix(".json")


def serve_golden(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=golden(operation_of(request)))


class Recorder:
    """A MockTransport handler that records every request and delegates to ``handler``."""

    def __init__(self, handler: Handler = serve_golden) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.handler(request)
        if not isinstance(response, httpx.Response):
            response = await response
        return response


class Sleeps:
    """Stands in for ``anyio.sleep`` in the retry loop: records each delay, sleeps for none."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def sleepless_client(emu: CincopaEmulator, **options: Any) -> AsyncCincopa:
    """A client of ``emu`` whose retry waits record their delay and sleep for none."""
    cp = emu.client(**options)
    cp._shared.sleep = Sleeps()
    return cp


def operations(emu: CincopaEmulator, since: int = 0) -> Counter[str]:
    """How many requests of each operation ``emu`` has served (from request ``since`` on)."""
    return Counter(r.operation for r in emu.requests[since:])


MakeClient = Callable[..., tuple[AsyncCincopa, Recorder]]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> MakeClient:
    """``make_client(handler, **options)`` -> (client, recorder), with no real retry sleeps."""

    def make(handler: Handler = serve_golden, **options: Any) -> tuple[AsyncCincopa, Recorder]:
        recorder = Recorder(handler)
        options.setdefault("api_token", TOKEN)
        client = AsyncCincopa(transport=httpx.MockTransport(recorder), **options)
        client._shared.sleep = sleeps
        return client, recorder

    return make
