"""Portal subdomain rules and webhook management."""

from __future__ import annotations

import json

import pytest

from cincopa_async.testing import CincopaEmulator
from tests.emulator._support import Api

pytestmark = pytest.mark.anyio


async def test_portal_lifecycle(api: Api) -> None:
    assert (await api("portal.check", subdomain="acme"))["subdomain"] == "available"
    assert (await api("portal.cease", subdomain="acme"))["success"] is True
    assert (await api("portal.check", subdomain="acme"))["subdomain"] == "taken"
    assert (await api("portal.cease", subdomain="acme"))["success"] is False
    assert (await api("portal.check", subdomain="www"))["subdomain"] == "taken"
    assert (await api("portal.check", subdomain="Bad_Name!"))["success"] is False
    assert (await api("portal.check", subdomain="-x-"))["success"] is False

    assert (await api("portal.rename", from_="acme", to="acme-tv"))["success"] is True
    assert (await api("portal.check", subdomain="acme"))["subdomain"] == "available"
    assert (await api("portal.rename", from_="acme", to="other"))["success"] is False
    await api("portal.cease", subdomain="taken-one")
    assert (await api("portal.rename", from_="acme-tv", to="taken-one"))["success"] is False

    listed = await api("portal.list")
    assert sorted(p["subdomain"] for p in listed["portals"]) == ["acme-tv", "taken-one"]
    only = await api("portal.list", subdomain="acme-tv")
    assert [p["subdomain"] for p in only["portals"]] == ["acme-tv"]

    assert (await api("portal.remove", subdomain="acme-tv"))["success"] is True
    assert (await api("portal.remove", subdomain="acme-tv"))["success"] is False
    assert (await api("portal.check", subdomain="acme-tv"))["subdomain"] == "available"


async def test_portal_set_validation_and_settings(emu: CincopaEmulator, api: Api) -> None:
    args = json.dumps({"primary_color": "#2A5F9E"})
    ok = await api(
        "portal.set",
        subdomain="videos",
        template="/templates/corporate",
        args=args,
        allow_public="no",
        cincopa_login="yes",
        cincopa_login_registration="restricted",
        cincopa_login_user_add="john@acme.com,emma@acme.com",
        google_openid_domain_add="acme.com",
        simple_user_add="bob:pw1,ann:pw2",
        cname_domain="videos.acme.com",
        _method="POST",
    )
    assert ok["success"] is True
    await api(
        "portal.set",
        subdomain="videos",
        cincopa_login_user_remove="john@acme.com",
        simple_user_add='[{"user": "cy", "password": "pw3"}]',
        simple_user_remove="bob",
    )
    portal = (await api("portal.list", subdomain="videos"))["portals"][0]
    assert portal["template"] == "/templates/corporate"
    assert portal["args"] == {"primary_color": "#2A5F9E"}
    assert portal["allow_public"] == "no"
    assert portal["cincopa_login_registration"] == "restricted"
    assert portal["cincopa_login_users"] == "emma@acme.com"
    assert portal["google_openid_domains"] == "acme.com"
    assert portal["simple_users"] == "ann,cy"
    assert portal["cname_domain"] == "videos.acme.com"
    assert "pw" not in json.dumps(portal)

    for bad in (
        {"allow_public": "maybe"},
        {"cincopa_login": "true"},
        {"cincopa_login_registration": "everyone"},
        {"args": "{not json"},
        {"args": "[1, 2]"},
        {"simple_user_add": "nopassword"},
    ):
        reply = await api("portal.set", subdomain="videos", **bad)
        assert reply["success"] is False, bad

    other = emu.create_token()
    del other  # same account: still the owner
    assert (await api("portal.set", subdomain="www"))["success"] is False


async def test_portal_owned_by_another_account(emu: CincopaEmulator, api: Api) -> None:
    await api("portal.cease", subdomain="mine")
    sub = (await api("account.add_sub", name="Sub"))["new_sub_account_uid"]
    sub_token = emu.create_token(account=sub)
    assert (await api("portal.set", _token=sub_token, subdomain="mine"))["success"] is False
    assert (await api("portal.remove", _token=sub_token, subdomain="mine"))["success"] is False
    assert (await api("portal.list", _token=sub_token))["portals"] == []


async def test_webhook_management(api: Api) -> None:
    url = "http://127.0.0.1:9/hook"
    assert (await api("webhook.set", hook_url=url, events="asset.*", _method="POST"))[
        "success"
    ] is True
    await api("webhook.set", hook_url=url, events="asset.uploaded,gallery.created")
    await api("webhook.set_slack", hook_url="http://127.0.0.1:9/slack", events="*")
    hooks = (await api("webhook.list"))["webhooks"]
    assert hooks == [
        {"hook_url": url, "events": "asset.uploaded,gallery.created", "type": "webhook"},
        {"hook_url": "http://127.0.0.1:9/slack", "events": "*", "type": "slack"},
    ]
    assert (await api("webhook.set", hook_url=url, events="asset.exploded"))["success"] is False
    assert (await api("webhook.set", hook_url="ftp://x", events="asset.*"))["success"] is False
    assert (await api("webhook.delete", hook_url=url))["success"] is True
    assert (await api("webhook.delete", hook_url=url))["success"] is False
    assert len((await api("webhook.list"))["webhooks"]) == 1


@pytest.mark.parametrize(
    "events",
    ["gallery.claim", "gallery.sync", "asset.synced", "analytics.*", "leads.*", "account.*"],
)
async def test_webhook_takes_pipedreams_event_names(api: Api, events: str) -> None:
    """Pipedream's events.mjs constants (S8), undocumented, are registrable."""
    url = "https://example.com/pipedream"
    assert (await api("webhook.set", hook_url=url, events=events))["success"] is True
    assert (await api("webhook.list"))["webhooks"] == [
        {"hook_url": url, "events": events, "type": "webhook"}
    ]
