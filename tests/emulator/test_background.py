"""Background work: upload_from_url downloads and webhook deliveries (asyncio and trio)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from cincopa_async.testing import CincopaEmulator, serve_asgi_app
from tests._waits import wait_until
from tests.emulator._support import Api, Receiver, rid_of, upload_raw

pytestmark = pytest.mark.anyio


async def _wait_status(api: Api, status_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal reply
        reply = await api("asset.upload_from_url_get_status", status_id=status_id)
        return reply["status"] != "inprogress"

    await wait_until(finished)
    return reply


async def test_import_from_inprocess_file(emu: CincopaEmulator, api: Api) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    url = emu.add_file("talk.mp4", b"m" * 5000)
    started = await api("asset.upload_from_url", input=url, fid=fid, _method="POST")
    status = await _wait_status(api, started["status_id"])
    assert status["status"] == "done"
    assert status["progress"] == "100"
    assert status["file_size_bytes"] == "5000"
    rid = status["resid"]
    asset = (await api("asset.list", rid=rid))["items"][0]
    assert (asset["filename"], asset["type"], asset["filesize"]) == ("talk.mp4", "video", 5000)
    items = (await api("gallery.get_items", fid=fid))["folder"]["items"]
    assert [i["rid"] for i in items] == [rid]


async def test_import_from_a_real_loopback_server(emu: CincopaEmulator, api: Api) -> None:
    emu.add_file("photo.jpg", b"j" * 2048)
    async with emu.serve() as base_url:
        url = base_url.replace("/v2/", "/files/photo.jpg")
        started = await api("asset.upload_from_url", input=url)
        status = await _wait_status(api, started["status_id"])
    assert status["status"] == "done"
    assert emu.state.main.assets[status["resid"]].content == b"j" * 2048


async def test_import_failures_and_refusals(emu: CincopaEmulator, api: Api) -> None:
    refused = await api("asset.upload_from_url", input="https://example.com/a.mp4")
    assert refused["success"] is False
    assert "loopback" in refused["message"]
    assert (await api("asset.upload_from_url", input="file:///etc/passwd"))["success"] is False
    missing = await api("asset.upload_from_url", input=emu.add_file("x", b"").replace("x", "y"))
    status = await _wait_status(api, missing["status_id"])
    assert status["status"] == "failed"
    assert "404" in status["debug"]
    closed_port = await api("asset.upload_from_url", input="http://127.0.0.1:9/nothing.mp4")
    assert (await _wait_status(api, closed_port["status_id"]))["status"] == "failed"
    unknown = await api("asset.upload_from_url_get_status", status_id="nope")
    assert unknown["success"] is False


async def test_import_abort(emu: CincopaEmulator, api: Api) -> None:
    emu.import_chunk_delay = 30
    url = emu.add_file("slow.mp4", b"s" * 100)
    status_id = (await api("asset.upload_from_url", input=url))["status_id"]

    async def started() -> bool:
        reply = await api("asset.upload_from_url_get_status", status_id=status_id)
        return reply["progress_bytes"] != "0"

    await wait_until(started)
    aborted = await api("asset.upload_from_url_abort", status_id=status_id, _method="POST")
    assert aborted == {"success": True, "runtime": aborted["runtime"], "status_id": status_id}
    await emu.wait_idle(limit=2)
    status = await api("asset.upload_from_url_get_status", status_id=status_id)
    assert status["status"] == "aborted"
    assert emu.state.main.assets == {}
    assert (await api("asset.upload_from_url_abort", status_id=status_id))["success"] is True
    emu.import_chunk_delay = 0
    done_id = (await api("asset.upload_from_url", input=url))["status_id"]
    await _wait_status(api, done_id)
    assert (await api("asset.upload_from_url_abort", status_id=done_id))["success"] is False


async def test_import_attach_to_asset(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    upload = (await api("asset.get_upload_url"))["upload_url"]
    rid = rid_of((await upload_raw(http, upload, b"v", "v.mp4")).text)
    url = emu.add_file("poster.png", b"png")
    started = await api("asset.upload_from_url", input=url, rid=rid, type="thumb")
    status = await _wait_status(api, started["status_id"])
    assert status["resid"] == rid
    assert emu.state.main.assets[rid].attachments["thumb"].content == b"png"


async def test_import_queued_until_the_emulator_runs(api: Api) -> None:
    emu = CincopaEmulator(seed=1)
    token = emu.create_token()
    url = emu.add_file("a.jpg", b"a")
    async with emu.http_client() as http:
        reply = await http.post(
            "asset.upload_from_url.json", params={"api_token": token, "input": url}
        )
        status_id = reply.json()["status_id"]
        async with emu:
            await emu.wait_idle(limit=2)
        status = await http.get(
            "asset.upload_from_url_get_status.json",
            params={"api_token": token, "status_id": status_id},
        )
    assert status.json()["status"] == "done"


async def test_webhook_delivery_with_retry_and_signature(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    receiver = Receiver(fail_first=1)
    async with serve_asgi_app(receiver) as root:
        hook = f"{root}/hook"
        await api("webhook.set", hook_url=hook, events="asset.*", security_key="s3cret")
        upload = (await api("asset.get_upload_url"))["upload_url"]
        rid = rid_of((await upload_raw(http, upload, b"v", "v.mp4")).text)
        await api("asset.set_meta", rid=rid, caption="New title")
        await api("gallery.create", name="not subscribed")
        await emu.wait_idle(limit=5)
    events = [json.loads(body)["event"] for _, body in receiver.received]
    assert sorted(events) == ["asset.updated", "asset.uploaded"]
    attempts = [(d.event, d.attempt, d.status) for d in emu.webhook_deliveries]
    assert len(attempts) == 3  # one of the two events failed once, then succeeded
    assert sum(1 for _, attempt, _ in attempts if attempt == 2) == 1
    assert sum(1 for d in emu.webhook_deliveries if d.ok) == 2
    for headers, body in receiver.received:
        expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["x-cincopa-signature"] == f"sha256={expected}"
        assert headers["content-type"] == "application/json"
        payload = json.loads(body)
        assert payload["drid"] == rid
        assert headers["x-cincopa-event"] == payload["event"]
    updated = next(json.loads(b) for _, b in receiver.received if b"asset.updated" in b)
    assert updated["caption"] == "New title"
    assert updated["reason"] == "folders modifyItem"
    assert "in_folders_list" in updated


async def test_webhook_gives_up_after_bounded_attempts(emu: CincopaEmulator, api: Api) -> None:
    await api("webhook.set", hook_url="http://127.0.0.1:9/down", events="gallery.created")
    await api("webhook.set", hook_url="https://example.com/hook", events="gallery.*")
    await api("gallery.create", name="G")
    await emu.wait_idle(limit=5)
    down = [d for d in emu.webhook_deliveries if d.hook_url.endswith("/down")]
    assert [d.attempt for d in down] == [1, 2, 3, 4]
    assert all(d.status is None and d.error for d in down)
    remote = [d for d in emu.webhook_deliveries if "example.com" in d.hook_url]
    assert len(remote) == 1
    assert remote[0].error is not None
    assert "refused" in remote[0].error


async def test_gallery_events_payload(emu: CincopaEmulator, api: Api) -> None:
    receiver = Receiver()
    async with serve_asgi_app(receiver) as root:
        await api("webhook.set", hook_url=f"{root}/h", events="gallery.*")
        fid = (await api("gallery.create", name="G", description="d"))["fid"]
        await api("gallery.set_meta", fid=fid, tags="a,b")
        await api("gallery.delete", fid=fid)
        await emu.wait_idle(limit=5)
    payloads = sorted((json.loads(b) for _, b in receiver.received), key=lambda p: p["event"])
    assert [p["event"] for p in payloads] == [
        "gallery.created",
        "gallery.deleted",
        "gallery.updated",
    ]
    created = payloads[0]
    assert created["fid"] == fid
    assert created["uid"] == int(emu.account_id)
    assert {"name", "description", "tags", "items_count", "sync_status", "modified"} <= set(created)
    assert payloads[2]["tags"] == "a,b"
    assert payloads[2]["reason"]
    assert [e[1] for e in emu.events] == ["gallery.created", "gallery.updated", "gallery.deleted"]
