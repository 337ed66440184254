"""Every operation is served; envelope, JSONP, form bodies, routing, request log, redaction."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cincopa_async.testing import OPERATIONS, CincopaEmulator
from tests.emulator._support import ENDPOINTS_JSON, Api

pytestmark = pytest.mark.anyio

ENDPOINTS: list[dict[str, Any]] = json.loads(ENDPOINTS_JSON.read_text())


def test_operation_table_matches_endpoints_json() -> None:
    assert len(ENDPOINTS) == 42
    assert {e["name"] for e in ENDPOINTS} == set(OPERATIONS)
    for endpoint in ENDPOINTS:
        op = OPERATIONS[endpoint["name"]]
        assert op.method == endpoint["method"], endpoint["name"]
        required = {p["name"] for p in endpoint["params"] if p["required"]} - {"api_token"}
        assert set(op.required) == required, endpoint["name"]
        for param in endpoint["params"]:
            if "enum" in param and param["name"] != "cache":
                assert set(op.enums[param["name"]]) == set(param["enum"]), endpoint["name"]


def _sample_params(endpoint: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: "x" for p in endpoint["params"] if p["required"]} | {"api_token": "?"}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e["name"])
async def test_every_operation_is_served(
    endpoint: dict[str, Any], http: httpx.AsyncClient, token: str
) -> None:
    """Each path answers GET and POST with the envelope (403 without a valid token)."""
    path = endpoint["path"]
    for method in ("GET", "POST"):
        unauth = await http.request(method, path, params={"api_token": "nope"})
        assert unauth.status_code == 403
        assert unauth.json()["success"] is False
        assert unauth.json()["message"]
        params = _sample_params(endpoint) | {"api_token": token}
        reply = await http.request(method, path, params=params)
        assert reply.status_code == 200, reply.text
        if endpoint["name"] == "upload.iframe":
            continue
        body = reply.json()
        assert isinstance(body["success"], bool)
        assert isinstance(body["runtime"], int | float)
        if not body["success"]:
            assert isinstance(body["message"], str)


async def test_success_replies_have_documented_fields(api: Api) -> None:
    """The fields of response_example are present for the operations that have an example."""
    gallery = await api("gallery.create", name="G", _method="POST")
    fid = gallery["fid"]
    replies = {
        "ping": await api("ping"),
        "token.get_temp": await api("token.get_temp", ttl=60),
        "gallery.list": await api("gallery.list"),
        "gallery.get_items": await api("gallery.get_items", fid=fid),
        "asset.list": await api("asset.list"),
        "asset.get_tags": await api("asset.get_tags"),
        "asset.get_upload_url": await api("asset.get_upload_url", fid=fid),
        "portal.check": await api("portal.check", subdomain="acme-videos"),
        "portal.list": await api("portal.list"),
        "webhook.list": await api("webhook.list"),
        "account.list_sub": await api("account.list_sub"),
        "account.add_sub": await api("account.add_sub", name="April"),
        "token.list": await api("token.list"),
        "token.create": await api("token.create", name="t", permissions="asset.read"),
        "upload.get_upload_token": await api("upload.get_upload_token", fid=fid),
        "gallery.download": await api("gallery.download", fid=fid),
        "live.create": await api("live.create", name="L"),
    }
    examples = {e["name"]: e["response_example"] for e in ENDPOINTS}
    fields = {e["name"]: {f["name"] for f in e["response_fields"]} for e in ENDPOINTS}
    for name, reply in replies.items():
        assert reply["success"] is True, (name, reply)
        example = examples[name] or {}
        missing = (set(example) | (fields[name] - {"message"})) - set(reply)
        assert not missing, (name, missing)


async def test_handled_failures_are_http_200(api: Api) -> None:
    missing = await api("gallery.create", _method="POST")
    assert set(missing) == {"success", "runtime", "message"}
    assert missing["success"] is False
    assert "name" in missing["message"]
    unknown = await api("gallery.get_items", fid="nope")
    assert unknown["success"] is False
    assert "not found" in unknown["message"]
    bad_enum = await api("gallery.delete", fid="x", delete_assets="maybe")
    assert bad_enum["success"] is False
    assert "delete_assets" in bad_enum["message"]
    bad_int = await api("asset.list", page="two")
    assert bad_int["success"] is False
    assert "page" in bad_int["message"]


async def test_unknown_operation_and_method(http: httpx.AsyncClient, token: str) -> None:
    assert (await http.get("nope.list.json", params={"api_token": token})).status_code == 404
    assert (await http.get("ping", params={"api_token": token})).status_code == 404
    assert (await http.put("ping.json", params={"api_token": token})).status_code == 405
    assert (await http.get("/elsewhere")).status_code == 404


async def test_jsonp(http: httpx.AsyncClient, token: str) -> None:
    reply = await http.get("ping.json", params={"api_token": token, "callback": "cb_1"})
    assert reply.headers["content-type"].startswith("application/javascript")
    assert reply.text.startswith("cb_1({")
    assert reply.text.endswith("})")
    assert json.loads(reply.text[5:-1])["ping"] == "pong"
    denied = await http.get("ping.json", params={"api_token": "bad", "callback": "cb"})
    assert denied.status_code == 403
    assert denied.text.startswith("cb(")
    evil = await http.get("ping.json", params={"api_token": token, "callback": "alert(1)//"})
    assert evil.json()["success"] is False


async def test_form_body_and_query_precedence(http: httpx.AsyncClient, token: str) -> None:
    created = await http.post(
        "gallery.create.json",
        params={"api_token": token, "name": "from-query"},
        data={"name": "from-form", "description": "form only"},
    )
    fid = created.json()["fid"]
    items = await http.post("gallery.list.json", data={"api_token": token})
    gallery = next(g for g in items.json()["galleries"] if g["fid"] == fid)
    assert gallery["name"] == "from-query"
    assert gallery["description"] == "form only"


async def test_upload_iframe_is_html(api: Api, http: httpx.AsyncClient, token: str) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    page = await http.get("upload.iframe", params={"api_token": token, "fid": fid})
    assert page.headers["content-type"].startswith("text/html")
    assert fid in page.text
    by_rrid = await http.get("upload.iframe", params={"api_token": token, "rrid": "assign:1:2"})
    assert by_rrid.status_code == 200
    found = await api("gallery.list", search="caption=rrid:assign:1:2")
    assert [g["name"] for g in found["galleries"]] == ["rrid:assign:1:2"]


async def test_request_log_and_redaction(emu: CincopaEmulator, api: Api, token: str) -> None:
    await api(
        "portal.set",
        subdomain="acme-videos",
        simple_user_add="bob:hunter2",
        _method="POST",
    )
    await api("webhook.set", hook_url="http://127.0.0.1:1/h", events="asset.*", security_key="k")
    last = emu.requests[-2]
    assert last.method == "POST"
    assert last.path == "/v2/portal.set.json"
    assert last.operation == "portal.set"
    assert last.status == 200
    assert last.params["subdomain"] == "acme-videos"
    assert last.params["api_token"] == "<redacted>"
    assert last.params["simple_user_add"] == "<redacted>"
    assert emu.requests[-1].params["security_key"] == "<redacted>"
    everything = repr(emu.requests) + repr(emu) + repr(emu.state) + repr(emu.faults)
    everything += repr(list(emu.state.tokens.values())) + repr(list(emu.state.portals.values()))
    assert token not in everything
    assert "hunter2" not in everything


async def test_ping_identity(emu: CincopaEmulator, api: Api) -> None:
    reply = await api("ping")
    assert reply["accid"] == emu.account_id
    assert reply["accid_num"] == int(emu.account_id)
    assert reply["permissions"] == "*"
    assert reply["ip"] == "127.0.0.1"


async def test_media_and_files_routes(emu: CincopaEmulator, http: httpx.AsyncClient) -> None:
    url = emu.add_file("clip.mp4", b"data" * 10)
    reply = await http.get(url)
    assert reply.content == b"data" * 10
    assert reply.headers["content-type"] == "video/mp4"
    assert (await http.get("/files/missing.bin")).status_code == 404
    assert (await http.get("/media/nope/original/x")).status_code == 404


def test_seeded_ids_are_deterministic() -> None:
    first, second = CincopaEmulator(seed=7), CincopaEmulator(seed=7)
    assert first.account_id == second.account_id
    assert first.create_token() == second.create_token()
    assert CincopaEmulator(seed=8).account_id != first.account_id


async def test_request_log_can_be_switched_off() -> None:
    emu = CincopaEmulator(record_requests=False)
    token = emu.create_token()
    async with emu.http_client() as http:
        await http.get("ping.json", params={"api_token": token})
        assert emu.requests == []
        emu.app.record_requests = True
        await http.get("ping.json", params={"api_token": token})
    assert [r.operation for r in emu.requests] == ["ping"]
