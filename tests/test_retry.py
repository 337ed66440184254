"""The retry policy: what is retried, how often, and the delays honoured (no real sleeping)."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from cincopa_async import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    ServerError,
)
from cincopa_async._errors import APIStatusError
from cincopa_async._retry import RetryPolicy, parse_retry_after
from cincopa_async._spec import ENDPOINTS_BY_NAME
from cincopa_async.testing import CincopaEmulator

from .conftest import MakeClient, Sleeps, golden

pytestmark = pytest.mark.anyio


def failing_then_ok(failures: list[httpx.Response | Exception], name: str = "ping"):  # type: ignore[no-untyped-def]  # test helper
    queue = list(failures)

    def handler(request: httpx.Request) -> httpx.Response:
        if queue:
            item = queue.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return httpx.Response(200, json=golden(name))

    return handler


async def test_read_is_retried_on_5xx_then_succeeds(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    """A retry-safe read recovers from two 503s with the default max_retries=2."""
    client, recorder = make_client(failing_then_ok([httpx.Response(503), httpx.Response(502)]))
    async with client:
        reply = await client.ping()
    assert reply.success
    assert len(recorder.requests) == 3
    assert len(sleeps.delays) == 2
    assert 0.25 <= sleeps.delays[0] <= 0.5
    assert 0.5 <= sleeps.delays[1] <= 1.0


async def test_retries_are_bounded(make_client: MakeClient, sleeps: Sleeps) -> None:
    """After max_retries the last error is raised; attempts = 1 + max_retries."""
    client, recorder = make_client(lambda r: httpx.Response(500), max_retries=3)
    async with client:
        with pytest.raises(ServerError):
            await client.asset.list()
    assert len(recorder.requests) == 4
    assert len(sleeps.delays) == 3


async def test_read_is_retried_after_a_read_timeout_then_succeeds(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    """A retry-safe read whose reply timed out is sent again (no clock: the transport raises)."""
    client, recorder = make_client(failing_then_ok([httpx.ReadTimeout("slow")], "asset.list"))
    async with client:
        reply = await client.asset.list()
    assert reply.success
    assert len(recorder.requests) == 2
    assert len(sleeps.delays) == 1


async def test_mutation_is_not_retried_after_read_timeout(make_client: MakeClient) -> None:
    """asset.delete may have been applied when the read timed out: raise, do not resend."""
    client, recorder = make_client(failing_then_ok([httpx.ReadTimeout("slow")], "asset.delete"))
    async with client:
        with pytest.raises(APITimeoutError):
            await client.asset.delete(rid="A1")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("status", [500, 503, 408])
async def test_mutation_is_not_retried_after_5xx(make_client: MakeClient, status: int) -> None:
    """A non-idempotent mutation is not resent after a server error."""
    client, recorder = make_client(lambda r: httpx.Response(status))
    async with client:
        with pytest.raises(APIStatusError):
            await client.gallery.create(name="x")
    assert len(recorder.requests) == 1


async def test_an_applied_webhook_delete_is_not_sent_again(sleeps: Sleeps) -> None:
    """webhook.delete dropped after it was applied: raised, not resent (a second send would
    answer "webhook not found" to a delete that succeeded)."""
    hook = "https://example.com/hook"
    async with CincopaEmulator() as emu, emu.client() as cp:
        cp._shared.sleep = sleeps
        await cp.webhook.set(hook_url=hook, events="asset.*")
        emu.faults.add("drop_after", operations=["webhook.delete"], times=1)
        with pytest.raises(APIConnectionError) as raised:
            await cp.webhook.delete(hook_url=hook)
        assert raised.value.request_sent
        assert hook not in emu.state.main.webhooks
        assert [r.operation for r in emu.requests].count("webhook.delete") == 1
    assert sleeps.delays == []


async def test_mutation_is_retried_when_never_sent(make_client: MakeClient) -> None:
    """Connection refused cannot have reached the server: even a mutation is retried."""
    client, recorder = make_client(
        failing_then_ok([httpx.ConnectError("refused")], "gallery.create")
    )
    async with client:
        created = await client.gallery.create(name="x")
    assert created.fid
    assert len(recorder.requests) == 2


async def test_retry_after_seconds_is_honoured_for_a_mutation(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    """429 is retried for any operation, after the server's Retry-After."""
    client, recorder = make_client(
        failing_then_ok([httpx.Response(429, headers={"Retry-After": "7"})], "gallery.create")
    )
    async with client:
        await client.gallery.create(name="x")
    assert sleeps.delays == [7.0]
    assert len(recorder.requests) == 2


async def test_retry_after_http_date(make_client: MakeClient, sleeps: Sleeps) -> None:
    """An HTTP-date Retry-After is turned into seconds from now."""
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    client, _ = make_client(failing_then_ok([httpx.Response(503, headers={"Retry-After": when})]))
    async with client:
        await client.ping()
    assert len(sleeps.delays) == 1
    assert 27 <= sleeps.delays[0] <= 30


async def test_retry_after_beyond_the_cap_is_raised_with_the_hint(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    """A hint longer than max_retry_after is not waited for; the error keeps it."""
    client, recorder = make_client(lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    async with client:
        with pytest.raises(RateLimitError) as caught:
            await client.ping()
    assert caught.value.retry_after == 3600.0
    assert sleeps.delays == []
    assert len(recorder.requests) == 1


async def test_with_options_max_retries_zero(make_client: MakeClient) -> None:
    """A view with max_retries=0 does not retry; the original still does."""
    client, recorder = make_client(lambda r: httpx.Response(503))
    async with client:
        with pytest.raises(ServerError):
            await client.with_options(max_retries=0).ping()
        assert len(recorder.requests) == 1
        with pytest.raises(ServerError):
            await client.ping()
        assert len(recorder.requests) == 4


async def test_dropped_connection_on_read_is_retried(make_client: MakeClient) -> None:
    """A retry-safe read survives a dropped connection."""
    client, recorder = make_client(
        failing_then_ok([httpx.RemoteProtocolError("Server disconnected")])
    )
    async with client:
        await client.ping()
    assert len(recorder.requests) == 2


async def test_failure_after_the_last_retry_is_a_connection_error(make_client: MakeClient) -> None:
    """When every attempt fails to connect, the last error surfaces."""
    client, recorder = make_client(lambda r: (_ for _ in ()).throw(httpx.ConnectError("no")))
    async with client:
        with pytest.raises(APIConnectionError):
            await client.ping()
    assert len(recorder.requests) == 3


def test_backoff_grows_and_is_capped() -> None:
    """Exponential, jittered between 50% and 100%, capped at max_delay."""
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=4.0)
    retry_safe = ENDPOINTS_BY_NAME["ping"].retry_safe
    error = ServerError("x", operation="ping", url=None, status_code=500)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 4.0), (9, 4.0)]:
        delays = [policy.delay_before_retry(retry_safe, error, attempt) for _ in range(50)]
        assert all(d is not None and ceiling / 2 <= d <= ceiling for d in delays)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), ("nan", None)],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    """Delta-seconds parse, negatives clamp to 0, nonsense is ignored."""
    assert parse_retry_after({"retry-after": value}) == expected


def test_parse_retry_after_absent() -> None:
    assert parse_retry_after({}) is None
