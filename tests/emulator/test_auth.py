"""Tokens: 403 on unknown/expired tokens, permission scopes, temporary tokens, token.create."""

from __future__ import annotations

import httpx
import pytest

from cincopa_async.testing import CincopaEmulator
from tests.emulator._support import Api

pytestmark = pytest.mark.anyio


async def _status(http: httpx.AsyncClient, op: str, token: str, **params: str) -> int:
    reply = await http.get(f"{op}.json", params={"api_token": token, **params})
    if reply.status_code == 403:
        assert reply.json()["success"] is False
    return reply.status_code


async def test_missing_and_unknown_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("ping.json")).status_code == 403
    reply = await http.get("ping.json", params={"api_token": "1234567iunknown"})
    assert reply.status_code == 403
    assert "invalid" in reply.json()["message"]


@pytest.mark.parametrize(
    ("permissions", "allowed", "denied"),
    [
        ("asset.read", ["asset.list", "asset.get_tags", "ping"], ["gallery.list", "token.list"]),
        ("gallery.*", ["gallery.list"], ["asset.list", "portal.list"]),
        ("asset.write", ["asset.get_upload_url"], ["asset.list"]),
        ("asset.upload", ["asset.get_upload_url"], ["asset.list", "gallery.list"]),
        ("portal.read|webhook.read", ["portal.list", "webhook.list"], ["live.list"]),
        ("*", ["token.list", "account.list_sub", "live.list"], []),
    ],
)
async def test_scopes(
    emu: CincopaEmulator,
    http: httpx.AsyncClient,
    permissions: str,
    allowed: list[str],
    denied: list[str],
) -> None:
    token = emu.create_token(permissions)
    for op in allowed:
        assert await _status(http, op, token) == 200, op
    for op in denied:
        assert await _status(http, op, token) == 403, op


async def test_delete_scope_and_write_implies_delete(emu: CincopaEmulator, api: Api) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    other = (await api("gallery.create", name="H"))["fid"]
    reader = emu.create_token("gallery.read")
    writer = emu.create_token("gallery.write")
    deleter = emu.create_token("gallery.delete")
    assert await _raw(api, "gallery.delete", reader, fid=fid) == 403
    assert await _raw(api, "gallery.set_meta", deleter, fid=fid, name="x") == 403
    assert (await api("gallery.delete", _token=deleter, fid=other))["success"] is True
    assert (await api("gallery.delete", _token=writer, fid=fid))["success"] is True


async def _raw(api: Api, op: str, token: str, **params: str) -> int:
    try:
        await api(op, _token=token, **params)
    except AssertionError:
        return 403
    return 200


async def test_temp_token_expires_with_clock(emu: CincopaEmulator, api: Api) -> None:
    temp = (await api("token.get_temp", ttl=60))["token"]
    assert temp.startswith(f"{emu.account_id}i2")
    assert (await api("ping", _token=temp))["success"] is True
    emu.advance_clock(59)
    assert (await api("ping", _token=temp))["success"] is True
    emu.advance_clock(2)
    assert await _raw(api, "ping", temp) == 403


async def test_temp_token_expiry_message(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    temp = (await api("token.get_temp", ttl=1))["token"]
    emu.advance_clock(5)
    reply = await http.get("ping.json", params={"api_token": temp})
    assert reply.status_code == 403
    assert "expired" in reply.json()["message"]


async def test_temp_token_permissions_subset(emu: CincopaEmulator, api: Api) -> None:
    temp = (await api("token.get_temp", permissions="asset.read"))["token"]
    assert (await api("ping", _token=temp))["permissions"] == "asset.read"
    assert (await api("asset.list", _token=temp))["success"] is True
    assert await _raw(api, "gallery.list", temp) == 403
    narrow = emu.create_token("asset.read")
    escalate = await api("token.get_temp", _token=narrow, permissions="gallery.read")
    assert escalate["success"] is False
    invalid = await api("token.get_temp", permissions="bogus.scope")
    assert invalid["success"] is False
    bad_ttl = await api("token.get_temp", ttl=0)
    assert bad_ttl["success"] is False


async def test_temp_token_restrictions(emu: CincopaEmulator, api: Api) -> None:
    a = (await api("gallery.create", name="A"))["fid"]
    b = (await api("gallery.create", name="B"))["fid"]
    temp = (await api("token.get_temp", fid=a))["token"]
    assert (await api("gallery.get_items", _token=temp, fid=a))["success"] is True
    assert await _raw(api, "gallery.get_items", temp, fid=b) == 403
    pinned = (await api("token.get_temp", sourceip="10.9.9.9"))["token"]
    assert await _raw(api, "ping", pinned) == 403
    local = (await api("token.get_temp", sourceip="127.0.0.1"))["token"]
    assert (await api("ping", _token=local))["success"] is True


async def test_token_create_makes_a_usable_token(api: Api) -> None:
    created = await api("token.create", name="ci", permissions="asset.*|gallery.read")
    new = created["api_token"]
    assert (await api("ping", _token=new))["permissions"] == "asset.*|gallery.read"
    assert (await api("gallery.list", _token=new))["success"] is True
    assert await _raw(api, "portal.list", new) == 403
    listed = await api("token.list")
    assert any(t["api_token"] == new and t["name"] == "ci" for t in listed["tokens"])
    bad = await api("token.create", name="x", permissions="nope")
    assert bad["success"] is False


async def test_token_create_cannot_escalate(emu: CincopaEmulator, api: Api) -> None:
    limited = emu.create_token("token.*|asset.read")
    reply = await api("token.create", _token=limited, name="x", permissions="gallery.read")
    assert reply["success"] is False
    ok = await api("token.create", _token=limited, name="y", permissions="asset.read")
    assert ok["success"] is True


async def test_sub_accounts_have_their_own_library(emu: CincopaEmulator, api: Api) -> None:
    sub = (await api("account.add_sub", name="April_2025"))["new_sub_account_uid"]
    assert (await api("account.add_sub", name="April_2025"))["success"] is False
    listed = await api("account.list_sub")
    assert listed["sub_accounts"] == [{"account_name": "April_2025", "uid": sub}]
    sub_token = (await api("token.create", name="s", permissions="*", sub_account=sub))["api_token"]
    assert sub_token.startswith(f"{sub}i")
    assert (await api("ping", _token=sub_token))["accid"] == sub
    await api("gallery.create", name="main only")
    assert (await api("gallery.list", _token=sub_token))["galleries"] == []
    tokens = await api("token.list", sub_account=sub)
    assert [t["name"] for t in tokens["tokens"]] == ["s"]
    assert (await api("token.list", sub_account="0000000"))["success"] is False
