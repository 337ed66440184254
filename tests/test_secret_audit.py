"""Secret hygiene audit: no api_token, temp token or portal password anywhere observable.

One scenario against the emulator on a real loopback socket, under both backends (aiohttp under
asyncio, httpcore under trio), with every logger at DEBUG (httpx and httpcore included): normal
calls, a temporary token, a portal password, webhooks with a security key, bulk progress, and
every error path (bad token, each fault kind, a timeout, bad arguments). Everything the SDK
lets a user see is collected — log lines, str/repr of every error and its causes, repr of every
reply, progress updates, the emulator's request log — and searched for the secrets.
(The CLI's outputs get the same audit in tests/integrations.)
"""

from __future__ import annotations

import inspect
import ssl
from typing import Any

import anyio
import pytest

from cincopa_async import AsyncCincopa, CincopaError
from cincopa_async._shards import ShardedTransport
from cincopa_async.testing import CincopaEmulator

from ._leaks import all_logs, texts_of

pytestmark = pytest.mark.anyio

PASSWORD = "s3cret-Portal-Passw0rd"
SECURITY_KEY = "hook-signing-key-4242"


async def test_no_secret_escapes(anyio_backend: str) -> None:
    seen: list[str] = []

    async def expect_error(coro: Any) -> None:
        try:
            await coro
        except CincopaError as error:
            seen.extend(texts_of(error))
        else:  # pragma: no cover - each scenario below is built to fail
            raise AssertionError("expected a CincopaError")

    with all_logs(("", "httpx", "httpcore", "cincopa_async", "aiohttp", "asyncio")) as logs:
        async with CincopaEmulator(seed=5) as emu, emu.serve() as base_url:
            token = emu.create_token()
            # A generous timeout: a busy machine times nothing out. The stall below gets a short
            # one, and never answers, so that timeout is certainly reached.
            async with AsyncCincopa(token, base_url=base_url, timeout=60, max_retries=1) as cp:
                seen.append(repr(cp))
                seen.append(repr(await cp.ping()))
                temp = await cp.token.get_temp(ttl=600)
                seen.append(repr(temp))
                seen.append(repr(await cp.portal.cease(subdomain="audit-portal")))
                seen.append(
                    repr(
                        await cp.portal.set(
                            subdomain="audit-portal", simple_user_add=f"alice:{PASSWORD}"
                        )
                    )
                )
                seen.append(repr(await cp.portal.list()))
                seen.append(
                    repr(
                        await cp.webhook.set(
                            hook_url="http://127.0.0.1:9/hook",
                            events=["asset.*"],
                            security_key=SECURITY_KEY,
                        )
                    )
                )
                seen.append(repr(await cp.webhook.list()))
                result = await cp.bulk.upload_files(
                    [(f"a{i}.bin", b"x" * 3000) for i in range(4)],
                    on_progress=lambda p: seen.append(repr(p)),
                )
                seen.append(repr(result))
                seen.extend(repr(item) for item in result)
                url = cp.upload.iframe(fid="F", api_token=temp.token)
                assert temp.token in url  # the one place a token is meant to be: the URL built
                # every error path
                await expect_error(
                    cp.portal.set(subdomain="x", simple_user_add=[PASSWORD])  # type: ignore[arg-type]  # wrong on purpose
                )
                for kind, options in [
                    ("server_error", {}),
                    ("rate_limit", {"retry_after": 0}),
                    ("drop_before", {}),
                    ("drop_after", {}),
                    ("malformed_body", {}),
                    ("truncated_body", {}),
                    ("wrong_shape", {}),
                    ("stall", {}),  # no reply for an hour, unless the client hangs up
                ]:
                    view = cp.with_options(timeout=0.3) if kind == "stall" else cp
                    with emu.faults.add(kind, **options) as fault:
                        await expect_error(view.asset.list())
                        await expect_error(
                            view.portal.set(subdomain="audit-portal", cname_domain="x")
                        )
                    assert fault.hits >= 2, kind
                with emu.faults.add("upload_chunk_failure"):
                    await expect_error(
                        cp.with_options(max_retries=0).upload_file(b"z", filename="z")
                    )
            async with AsyncCincopa(temp.token, base_url=base_url) as limited:
                seen.append(repr(await limited.ping()))
            async with AsyncCincopa(token + "x", base_url=base_url) as wrong:
                await expect_error(wrong.ping())
            seen.extend(repr(request) for request in emu.requests)
            await anyio.sleep(0)
    everything = "\n".join([*seen, *logs.lines])
    # trio: the SDK sends to httpx's own transport, whose connection pool logs at DEBUG
    assert "httpcore.http11" in everything or anyio_backend == "asyncio"
    assert len(logs.lines) > 10
    for secret in (token, temp.token, PASSWORD, SECURITY_KEY):
        assert secret not in everything, secret[:6]


def test_tls_verification_cannot_be_turned_off_silently() -> None:
    """No verify switch on the client; the default transports verify certificates and hosts."""
    assert "verify" not in inspect.signature(AsyncCincopa).parameters
    from cincopa_async._aiohttp import AiohttpTransport

    context = AiohttpTransport().ssl_context
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    client = AsyncCincopa("1234567itoken")  # on trio: httpx's own transports, verify=True
    sharded = client._shared.http._transport
    assert isinstance(sharded, ShardedTransport)
    assert sharded.ssl_context.verify_mode is ssl.CERT_REQUIRED
    assert sharded.ssl_context.check_hostname is True
    for shard in sharded.shards:  # each shard's httpcore pool connects with that context
        assert shard._pool._ssl_context is sharded.ssl_context  # type: ignore[attr-defined]
    anyio.run(client.aclose)  # its httpx client exists now: close it like any used client
