"""Serving on a real loopback port (uvicorn): chunked bodies, the command line, a busy port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async.testing import CincopaEmulator, PortInUseError, serve_asgi_app

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def test_serve_round_trip(emu: CincopaEmulator, token: str) -> None:
    async with (
        emu.serve() as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=5) as http,
    ):
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v2/")
        pongs = []
        async with anyio.create_task_group() as task_group:

            async def ping() -> None:
                reply = await http.get("ping.json", params={"api_token": token})
                pongs.append(reply.json()["ping"])
                assert reply.headers["server"] == "uvicorn"  # not a hand-written server

            for _ in range(20):
                task_group.start_soon(ping)
        assert pongs == ["pong"] * 20
        created = await http.post(
            "gallery.create.json", params={"api_token": token}, data={"name": "form"}
        )
        assert created.json()["success"] is True
        url = (await http.get("asset.get_upload_url.json", params={"api_token": token})).json()[
            "upload_url"
        ]
        assert url.startswith(base_url.removesuffix("/v2/") + "/upload/post.jpg?")

        async def body() -> AsyncIterator[bytes]:  # no length: sent chunked
            for piece in (b"abc", b"defg", b"h"):
                yield piece

        reply = await http.post(url, content=body(), headers={"X-File-Name": "chunked.bin"})
        assert "done." in reply.text
        assert sorted(a.content or b"" for a in emu.state.main.assets.values()) == [b"abcdefgh"]
        assert (await http.get("/nowhere")).status_code == 404
        emu.add_file("f.txt", b"hello")
        head = await http.head(base_url.replace("/v2/", "/files/f.txt"))
        assert head.status_code == 200
        assert head.headers["content-length"] == "5"
        assert head.content == b""
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(trust_env=False) as http:
            await http.get(f"{base_url}ping.json")


@contextlib.contextmanager
def command_line(*arguments: str) -> Iterator[tuple[str, str]]:
    """Run ``python -m cincopa_async.testing ARGS``; yield its (base URL, token); Ctrl-C it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "cincopa_async.testing", *arguments],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(5)]
        yield (
            lines[1].removeprefix("CINCOPA_BASE_URL="),
            lines[2].removeprefix("CINCOPA_API_TOKEN="),
        )
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0


def test_command_line() -> None:
    with command_line("--port", "0", "--seed", "3") as (base_url, token):
        assert base_url.startswith("http://127.0.0.1:")
        reply = httpx.get(f"{base_url}ping.json", params={"api_token": token}, trust_env=False)
        assert reply.json()["ping"] == "pong"
        assert reply.json()["accid"] == CincopaEmulator(seed=3).account_id


def test_command_line_faults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--fault KIND[:RATE]`` and ``--latency`` apply to every operation of the served app: a
    real server answers 5xx; in-process, one request is hit by both faults (counted, not timed)."""
    arguments = ("--port", "0", "--fault", "server_error:1", "--latency", "0.05")
    with command_line(*arguments) as (base_url, token):
        reply = httpx.get(f"{base_url}ping.json", params={"api_token": token}, trust_env=False)
        assert reply.status_code >= 500

    from cincopa_async.testing import __main__ as emulator_cli

    served: list[Any] = []

    def serve_one_request(app: Any, *, host: str, port: int, ready: Any) -> None:
        ready("http://127.0.0.1:1")
        token = capsys.readouterr().out.split("CINCOPA_API_TOKEN=")[1].split()[0]

        async def ping() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x/v2/") as http:
                return await http.get("ping.json", params={"api_token": token})

        served.append((anyio.run(ping), app.faults.active))

    monkeypatch.setattr(emulator_cli, "run_forever", serve_one_request)
    assert emulator_cli.main(list(arguments)) == 0
    ((reply, faults),) = served
    assert reply.status_code >= 500
    assert sorted((f.kind.value, f.rate, f.seconds, f.hits) for f in faults) == [
        ("latency", 1.0, 0.05, 1),
        ("server_error", 1.0, 0.0, 1),
    ]


def test_command_line_serves_sample_media_to_import() -> None:
    """The printed sample URL serves a video, and ``cp.import_url`` imports it from there."""
    from cincopa_async import AsyncCincopa

    with command_line("--port", "0") as (base_url, token):
        sample = base_url.replace("/v2/", "/files/sample.mp4")
        media = httpx.get(sample, trust_env=False)
        assert (media.status_code, len(media.content)) == (200, 256 * 1024)
        assert media.headers["content-type"] == "video/mp4"

        async def import_it() -> tuple[str, str]:
            async with AsyncCincopa(token, base_url=base_url) as cp:
                asset = await cp.import_url(sample, poll_interval=0.01)
                return asset.filename, asset.type

        assert anyio.run(import_it) == ("sample.mp4", "video")


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "cincopa_async.testing"],
        [sys.executable, "-m", "cincopa_async.cli", "emulator"],
    ],
    ids=["python -m cincopa_async.testing", "cincopa emulator"],
)
def test_a_busy_port_is_one_line_and_a_nonzero_exit(command: list[str]) -> None:
    with contextlib.closing(socket.socket()) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*command, "--port", str(port)], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


async def test_serving_on_a_busy_port_raises_port_in_use_error() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("never served")

    with contextlib.closing(socket.socket()) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            async with serve_asgi_app(app, port=port):
                pass
