"""Fault injection, observed with raw httpx: in-process and on a real loopback port."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async.testing import CincopaEmulator, Fault, FaultKind
from tests.emulator._support import Api, upload_raw

pytestmark = pytest.mark.anyio


async def _ping(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("ping.json", params={"api_token": token})


async def test_server_errors(emu: CincopaEmulator, http: httpx.AsyncClient, token: str) -> None:
    emu.faults.add("server_error", operations="ping")
    statuses = {(await _ping(http, token)).status_code for _ in range(30)}
    assert statuses == {500, 502, 503}
    emu.faults.clear()
    pinned = emu.faults.add(FaultKind.SERVER_ERROR, status=503)
    reply = await _ping(http, token)
    assert reply.status_code == 503
    assert reply.json()["success"] is False
    assert pinned.hits == 1
    assert emu.requests[-1].fault == "server_error"
    pinned.remove()
    assert (await _ping(http, token)).status_code == 200


async def test_rate_limit(emu: CincopaEmulator, http: httpx.AsyncClient, token: str) -> None:
    with emu.faults.add("rate_limit", retry_after=7):
        reply = await _ping(http, token)
        assert reply.status_code == 429
        assert reply.headers["retry-after"] == "7"
    assert (await _ping(http, token)).status_code == 200


async def test_operation_filter_and_times(
    emu: CincopaEmulator, http: httpx.AsyncClient, token: str
) -> None:
    fault = emu.faults.add("server_error", operations=("asset.list",), times=2, status=500)
    assert (await _ping(http, token)).status_code == 200
    codes = [
        (await http.get("asset.list.json", params={"api_token": token})).status_code
        for _ in range(3)
    ]
    assert codes == [500, 500, 200]
    assert fault.hits == 2


async def test_latency(emu: CincopaEmulator, http: httpx.AsyncClient, token: str) -> None:
    emu.faults.add("latency", seconds=0.05)
    emu.faults.add("latency", seconds=0.05, operations="gallery.list")
    started = anyio.current_time()
    assert (await _ping(http, token)).status_code == 200
    assert anyio.current_time() - started >= 0.05
    started = anyio.current_time()
    assert (await http.get("gallery.list.json", params={"api_token": token})).status_code == 200
    assert anyio.current_time() - started >= 0.1


async def test_drop_before_does_not_apply(
    emu: CincopaEmulator, http: httpx.AsyncClient, token: str
) -> None:
    emu.faults.add("drop_before", operations="gallery.create")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("gallery.create.json", params={"api_token": token, "name": "G"})
    assert emu.state.main.galleries == {}
    assert emu.requests[-1].status is None
    assert emu.requests[-1].fault == "drop_before"


async def test_drop_after_applies(
    emu: CincopaEmulator, http: httpx.AsyncClient, token: str
) -> None:
    emu.faults.add("drop_after", operations="gallery.create")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("gallery.create.json", params={"api_token": token, "name": "G"})
    assert [g.name for g in emu.state.main.galleries.values()] == ["G"]


@pytest.mark.parametrize("kind", ["malformed_body", "truncated_body", "wrong_shape"])
async def test_bad_bodies(
    emu: CincopaEmulator, http: httpx.AsyncClient, token: str, kind: str
) -> None:
    emu.faults.add(kind)
    reply = await _ping(http, token)
    assert reply.status_code == 200
    if kind == "wrong_shape":
        assert isinstance(reply.json(), list)
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.text)


async def test_stall_times_out(emu: CincopaEmulator, token: str) -> None:
    emu.faults.add("stall")
    async with emu.http_client(timeout=0.1) as http:
        with pytest.raises(httpx.ReadTimeout):
            await _ping(http, token)
    emu.faults.clear()
    emu.faults.add("stall", seconds=0.01)  # shorter than the timeout: a slow reply
    async with emu.http_client(timeout=60) as http:
        assert (await _ping(http, token)).status_code == 200


async def test_upload_chunk_failure_then_resume(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    await upload_raw(http, url, b"aa", "f.bin", start=0, total=4)
    with emu.faults.add("upload_chunk_failure"):
        failed = await upload_raw(http, url, b"bb", "f.bin", start=2, total=4)
        assert failed.status_code == 500
        assert "error" in failed.text
        assert (await _ping(http, emu.create_token())).status_code == 200  # API unaffected
    session = emu.upload_sessions()[-1]
    assert session.missing_ranges() == [(2, 4)]
    done = await upload_raw(http, url, b"bb", "f.bin", start=2, total=4)
    assert "done." in done.text
    faults = [r.fault for r in emu.requests if r.operation == "upload"]
    assert faults == [None, "upload_chunk_failure", None]


def _pattern(seed: int) -> list[bool]:
    emu = CincopaEmulator(seed=seed)
    emu.faults.add("server_error", rate=0.3)
    fault = emu.faults.active[0]
    return [fault.matches("ping") and fault.roll() for _ in range(50)]


async def test_determinism_under_seed(token: str) -> None:
    async def run(seed: int) -> list[int]:
        emu = CincopaEmulator(seed=seed)
        emu.faults.add("server_error", rate=0.3)
        emu.faults.add("latency", rate=0.5, seconds=0)
        tok = emu.create_token()
        async with emu, emu.http_client() as http:
            return [(await _ping(http, tok)).status_code for _ in range(40)]

    first, second, other = await run(3), await run(3), await run(4)
    assert first == second
    assert first != other
    assert 0 < sum(code != 200 for code in first) < 40
    assert _pattern(5) == _pattern(5)


async def test_reseed_restarts_the_draws(emu: CincopaEmulator) -> None:
    emu.faults.add("server_error", rate=0.5)
    fault = emu.faults.active[0]
    emu.faults.seed(11)
    first = [fault.roll() for _ in range(20)]
    emu.faults.seed(11)
    assert [fault.roll() for _ in range(20)] == first


def test_bad_fault_arguments() -> None:
    emu = CincopaEmulator()
    with pytest.raises(ValueError, match="rate"):
        emu.faults.add("latency", rate=2)
    with pytest.raises(ValueError, match="5xx"):
        emu.faults.add("server_error", status=404)
    with pytest.raises(ValueError, match="not a valid"):
        emu.faults.add("explode")  # type: ignore[arg-type]  # deliberately invalid


async def test_every_fault_kind_on_a_real_port(emu: CincopaEmulator, token: str) -> None:
    """Each fault kind does over uvicorn what it does in-process (checked kind by kind)."""
    seen: set[FaultKind] = set()

    def add(kind: FaultKind, **options: Any) -> Fault:
        seen.add(kind)
        return emu.faults.add(kind, **options)

    async with (
        emu.serve() as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=2, trust_env=False) as http,
    ):
        assert (await _ping(http, token)).json()["ping"] == "pong"
        params = {"api_token": token, "name": "A"}
        with (
            add(FaultKind.DROP_BEFORE, operations="gallery.create"),
            pytest.raises(httpx.RemoteProtocolError),
        ):
            await http.post("gallery.create.json", params=params)
        assert emu.state.main.galleries == {}
        with (
            add(FaultKind.DROP_AFTER, operations="gallery.create"),
            pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        ):
            await http.post("gallery.create.json", params=params | {"name": "B"})
        assert [g.name for g in emu.state.main.galleries.values()] == ["B"]
        with add(FaultKind.STALL, seconds=30), pytest.raises(httpx.ReadTimeout):
            await http.get("ping.json", params={"api_token": token}, timeout=0.2)
        with add(FaultKind.RATE_LIMIT, retry_after=2):
            reply = await _ping(http, token)
            assert (reply.status_code, reply.headers["retry-after"]) == (429, "2")
        with add(FaultKind.SERVER_ERROR, status=502):
            reply = await _ping(http, token)
            assert (reply.status_code, reply.json()["success"]) == (502, False)
        with add(FaultKind.LATENCY, seconds=0.01) as latency:
            assert (await _ping(http, token)).json()["ping"] == "pong"
            assert latency.hits == 1
        with add(FaultKind.MALFORMED_BODY):
            reply = await _ping(http, token)
            assert reply.status_code == 200
            assert reply.text.startswith("<html>")
        with add(FaultKind.TRUNCATED_BODY):
            reply = await _ping(http, token)
            assert reply.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                json.loads(reply.content)
            assert reply.text.startswith('{"success":true')
        with add(FaultKind.WRONG_SHAPE):
            assert isinstance((await _ping(http, token)).json(), list)
        upload_url = (
            await http.get("asset.get_upload_url.json", params={"api_token": token})
        ).json()["upload_url"]
        with add(FaultKind.UPLOAD_CHUNK_FAILURE):
            reply = await http.post(upload_url, content=b"abc", headers={"X-File-Name": "a.bin"})
            assert reply.status_code == 500
            assert "error" in reply.text
        assert emu.state.main.assets == {}
        assert (await _ping(http, token)).status_code == 200
    assert seen == set(FaultKind)
