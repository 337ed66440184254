"""The SDK driven end to end against the emulator.

Every test here runs twice per backend: with the SDK on the emulator's in-process transport, and
with the SDK on its default transport over a real loopback port (aiohttp under asyncio, httpcore
under trio), so both transports run the whole end-to-end suite.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cincopa_async import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    AsyncCincopa,
    AuthenticationError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
)
from cincopa_async.testing import CincopaEmulator, serve_asgi_app
from tests._waits import wait_until
from tests.emulator._support import Receiver, rid_of, upload_raw

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["in-process", "loopback"])
async def emu(
    emu: CincopaEmulator, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CincopaEmulator]:
    """The emulator; in the ``loopback`` case ``emu.client()`` goes over a real socket."""
    if request.param == "in-process":
        yield emu
        return
    async with emu.serve() as base_url:

        def client(api_token: str | None = None, **options: Any) -> AsyncCincopa:
            token = api_token if api_token is not None else emu.create_token()
            return AsyncCincopa(token, base_url=base_url, **options)

        monkeypatch.setattr(emu, "client", client)
        yield emu


async def test_plugin_fixtures(cincopa_client: AsyncCincopa, cincopa_emulator: Any) -> None:
    assert isinstance(cincopa_emulator, CincopaEmulator)
    pong = await cincopa_client.ping()
    assert pong.ping == "pong"
    assert pong.accid == cincopa_emulator.account_id
    assert pong.permissions == "*"


async def test_library_workflow(emu: CincopaEmulator) -> None:
    async with emu.client() as cp, emu.http_client() as http:
        fid = (await cp.gallery.create(name="Launch", description="videos")).fid
        upload_url = (await cp.asset.get_upload_url(fid=fid)).upload_url

        single = await http.post(upload_url, files={"file": ("intro.mp4", b"i" * 300)})
        intro = rid_of(single.text)
        data = b"0123456789" * 100
        replies = [
            await upload_raw(http, upload_url, data[s : s + 256], "long.mov", start=s, total=1000)
            for s in (768, 0, 512, 256)
        ]
        long = rid_of(replies[-1].text)

        source = emu.add_file("poster.png", b"p" * 64)
        job = await cp.asset.upload_from_url(input=source, fid=fid)
        status = None

        async def finished() -> bool:
            nonlocal status
            status = await cp.asset.upload_from_url_get_status(status_id=job.status_id)
            return status.status != "inprogress"

        await wait_until(finished)
        assert status is not None
        assert status.status == "done"
        assert status.progress == 100
        poster = status.resid

        await cp.asset.set_meta(rid=intro, caption="Intro", tags=["promo", "2025"])
        await cp.asset.set_meta(rid=long, reference_id="strapi")
        tags = await cp.asset.get_tags()
        assert dict(tags.tag_cloud) == {"promo": 1, "2025": 1}

        items = await cp.gallery.get_items(fid=fid)
        assert [a.rid for a in items.folder.items] == [intro, long, poster]
        await cp.gallery.remove_item(fid=fid, rid=[long])
        await cp.gallery.add_item(fid=fid, rid=[long], insert_position="top")
        items = await cp.gallery.get_items(fid=fid)
        assert [a.rid for a in items.folder.items] == [long, intro, poster]

        one = await cp.asset.list(rid=intro)
        assert one.items[0].caption == "Intro"
        assert one.items[0].tags == ("promo", "2025")
        assert one.items[0].filesize == 300
        assert (await cp.asset.list(reference_id="strapi")).items[0].rid == long
        assert emu.state.main.assets[long].content == data

        for i in range(25):
            await http.post(upload_url, files={"file": (f"bulk{i}.jpg", b"b")})
        walked = [a.rid async for a in cp.asset.list(items_per_page=7)]
        assert len(walked) == 28
        assert len(set(walked)) == 28
        galleries = [g.fid async for g in cp.gallery.list(items_per_page=1)]
        assert galleries == [fid]

        await cp.gallery.set_master(master=fid)
        with pytest.raises(APIResponseError, match="master"):
            await cp.gallery.delete(fid=fid)


async def test_temp_tokens(emu: CincopaEmulator) -> None:
    async with emu.client() as cp:
        temp = await cp.token.get_temp(ttl=60, permissions=["asset.read"])
        assert temp.token not in repr(temp)
        async with emu.client(temp.token) as limited:
            assert (await limited.asset.list()).items == ()
            with pytest.raises(AuthenticationError):
                await limited.gallery.create(name="nope")
            emu.advance_clock(61)
            with pytest.raises(AuthenticationError):
                await limited.ping()
        created = await cp.token.create(name="reader", permissions=["gallery.read"])
        async with emu.client(created.api_token) as reader:
            assert (await reader.gallery.list()).galleries == ()
            with pytest.raises(AuthenticationError):
                await reader.asset.list()


async def test_portal_lifecycle(emu: CincopaEmulator) -> None:
    async with emu.client() as cp:
        assert (await cp.portal.check(subdomain="launch")).subdomain == "available"
        await cp.portal.cease(subdomain="launch")
        assert (await cp.portal.check(subdomain="launch")).subdomain == "taken"
        await cp.portal.rename(from_="launch", to="launch-tv")
        await cp.portal.set(
            subdomain="launch-tv",
            args={"primary_color": "#123456"},
            allow_public=False,
            cincopa_login=True,
            cincopa_login_registration="restricted",
            cincopa_login_user_add=["a@example.com"],
            simple_user_add="bob:secret",
        )
        portals = (await cp.portal.list()).portals
        assert [(p.subdomain, p.allow_public, p.cincopa_login) for p in portals] == [
            ("launch-tv", False, True)
        ]
        assert emu.state.portals["launch-tv"].args == {"primary_color": "#123456"}
        await cp.portal.remove(subdomain="launch-tv")
        assert (await cp.portal.list()).portals == ()
        with pytest.raises(APIResponseError):
            await cp.portal.remove(subdomain="launch-tv")
    assert all("secret" not in repr(r.params) for r in emu.requests)


async def test_webhook_lifecycle(emu: CincopaEmulator) -> None:
    receiver = Receiver()
    async with emu.client() as cp, serve_asgi_app(receiver) as root:
        hook = f"{root}/hook"
        await cp.webhook.set(hook_url=hook, events=["gallery.created"], security_key="k")
        hooks = (await cp.webhook.list()).webhooks
        assert [(h.hook_url, tuple(h.events)) for h in hooks] == [(hook, ("gallery.created",))]
        await cp.gallery.create(name="Hooked")
        await emu.wait_idle(limit=5)
        await cp.webhook.delete(hook_url=hook)
        assert (await cp.webhook.list()).webhooks == ()
    assert [json.loads(body)["name"] for _, body in receiver.received] == ["Hooked"]


async def test_sdk_against_a_real_port(emu: CincopaEmulator) -> None:
    token = emu.create_token()
    async with emu.serve() as base_url, AsyncCincopa(token, base_url=base_url) as cp:
        fid = (await cp.gallery.create(name="Over TCP")).fid
        upload_url = (await cp.asset.get_upload_url(fid=fid)).upload_url
        assert upload_url.startswith(base_url.removesuffix("/v2/"))
        async with httpx.AsyncClient(trust_env=False) as http:
            rid = rid_of((await http.post(upload_url, files={"file": ("a.jpg", b"a")})).text)
        items = await cp.gallery.get_items(fid=fid)
        assert [a.rid for a in items.folder.items] == [rid]
        source = emu.add_file("over-tcp.mp4", b"t" * 100).replace(
            "http://cincopa.localhost/", base_url.removesuffix("v2/")
        )
        job = await cp.asset.upload_from_url(input=source, fid=fid)  # runs on the server thread

        async def has_asset() -> bool:
            reply = await cp.asset.upload_from_url_get_status(status_id=job.status_id)
            return reply.resid != ""

        await wait_until(has_asset)
        items = await cp.gallery.get_items(fid=fid)
        assert [a.filename for a in items.folder.items] == ["a.jpg", "over-tcp.mp4"]


# -- faults through the SDK ---------------------------------------------------------------------


async def test_fault_errors_without_retries(emu: CincopaEmulator) -> None:
    """Each fault kind is its typed error. The timeout is generous, so that a busy machine times
    out nothing; only the stall gets a short one, and the stall never answers (3600 s), so its
    timeout is certainly reached -- nothing here depends on how long anything takes."""
    async with emu.client(max_retries=0, timeout=60) as cp:
        cases: list[tuple[str, type[Exception], dict[str, Any]]] = [
            ("server_error", ServerError, {"status": 502}),
            ("rate_limit", RateLimitError, {"retry_after": 3}),
            ("drop_before", APIConnectionError, {}),
            ("drop_after", APIConnectionError, {}),
            ("malformed_body", ResponseDecodeError, {}),
            ("truncated_body", ResponseDecodeError, {}),
            ("wrong_shape", ResponseValidationError, {}),
        ]
        for kind, error, opts in cases:
            fault = emu.faults.add(kind, operations="asset.list", **opts)  # type: ignore[arg-type]  # opts vary by fault kind
            with fault, pytest.raises(error) as caught:
                await cp.asset.list()
            assert fault.hits == 1
            if kind == "rate_limit":
                assert isinstance(caught.value, RateLimitError)
                assert caught.value.retry_after == 3
        stall = emu.faults.add("stall", operations="asset.list")
        with stall, pytest.raises(APITimeoutError) as timed_out:
            await cp.with_options(timeout=0.2).asset.list()
        assert stall.hits == 1
        assert timed_out.value.request_sent is True
        with emu.faults.add("latency", seconds=0.01):
            assert (await cp.asset.list()).items == ()
        with pytest.raises(APIResponseError) as failed:
            await cp.gallery.get_items(fid="missing")
        assert "not found" in failed.value.message
    async with emu.client("1234567ibadtoken", max_retries=0) as bad:
        with pytest.raises(AuthenticationError):
            await bad.ping()


async def test_retries_recover_reads(emu: CincopaEmulator) -> None:
    """A read that fails once (dropped before or after it was handled, rate limited, a 5xx) is
    retried once and succeeds. None of these faults is a timing one and the timeout is generous,
    so a busy machine changes no count; the retry of a read that timed out is checked without a
    clock in tests/test_retry.py."""
    async with emu.client(max_retries=2, timeout=60) as cp:
        for kind in ("drop_before", "drop_after", "rate_limit"):
            fault = emu.faults.add(kind, operations="asset.list", times=1, retry_after=0)
            assert (await cp.asset.list()).items == ()
            assert fault.hits == 1
            fault.remove()
        fault = emu.faults.add("server_error", operations="ping", times=1)
        assert (await cp.ping()).ping == "pong"
        assert fault.hits == 1
        fault.remove()
    tried = [r.operation for r in emu.requests]
    assert tried.count("asset.list") == 6
    assert tried.count("ping") == 2


async def test_mutation_retry_rules(emu: CincopaEmulator) -> None:
    async with emu.client(max_retries=2, timeout=1) as cp:
        with emu.faults.add("rate_limit", operations="gallery.create", times=1, retry_after=0):
            await cp.gallery.create(name="after 429")
        dropped = emu.faults.add("drop_after", operations="gallery.create", times=1)
        with dropped, pytest.raises(APIConnectionError):
            await cp.gallery.create(name="applied once")
        failed = emu.faults.add("server_error", operations="gallery.create", times=1)
        with failed, pytest.raises(ServerError):
            await cp.gallery.create(name="not applied")
    names = sorted(g.name for g in emu.state.main.galleries.values())
    assert names == ["after 429", "applied once"]
