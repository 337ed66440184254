"""The client's configuration from the environment, and what happens to one never closed."""

from __future__ import annotations

import ast
import gc
import subprocess
import sys
import textwrap
import warnings
import weakref
from pathlib import Path

import httpx
import pytest

from cincopa_async import AsyncCincopa, CincopaValidationError, NotFoundError
from cincopa_async._client import DEFAULT_BASE_URL
from cincopa_async.testing import CincopaEmulator
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[1]


# -- CINCOPA_BASE_URL ------------------------------------------------------------------------------


def test_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINCOPA_API_TOKEN", TOKEN)
    monkeypatch.setenv("CINCOPA_BASE_URL", "http://127.0.0.1:8765/v2")
    assert AsyncCincopa().base_url == "http://127.0.0.1:8765/v2/"
    assert AsyncCincopa(TOKEN).base_url == "http://127.0.0.1:8765/v2/"
    # An argument wins over the environment.
    explicit = AsyncCincopa(base_url="https://api.example.test/v2/")
    assert explicit.base_url == "https://api.example.test/v2/"
    monkeypatch.setenv("CINCOPA_BASE_URL", "  ")
    assert AsyncCincopa().base_url == DEFAULT_BASE_URL
    monkeypatch.delenv("CINCOPA_BASE_URL")
    assert AsyncCincopa().base_url == DEFAULT_BASE_URL


def test_base_url_from_the_environment_obeys_the_https_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CINCOPA_BASE_URL", "http://api.example.test/v2/")
    with pytest.raises(CincopaValidationError, match=r"CINCOPA_BASE_URL: .* must be https://"):
        AsyncCincopa(TOKEN)


async def test_fastapi_lifespan_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    from fastapi import FastAPI

    from cincopa_async.fastapi import cincopa_lifespan, get_cincopa

    monkeypatch.setenv("CINCOPA_API_TOKEN", TOKEN)
    monkeypatch.setenv("CINCOPA_BASE_URL", "http://localhost:9/v2/")
    app = FastAPI(lifespan=cincopa_lifespan())
    async with app.router.lifespan_context(app):
        request = type("Request", (), {"app": app})()
        assert get_cincopa(request).base_url == "http://localhost:9/v2/"  # type: ignore[arg-type]  # a stand-in


# -- a base URL without /v2/ -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_404_from_a_base_url_without_v2_hints_at_the_path() -> None:
    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="not found")

    transport = httpx.MockTransport(not_found)
    async with AsyncCincopa(TOKEN, base_url="https://api.cincopa.com/", transport=transport) as cp:
        with pytest.raises(NotFoundError, match="does not end in /v2/") as caught:
            await cp.ping()
    assert "https://api.cincopa.com/v2/" in str(caught.value)
    async with AsyncCincopa(TOKEN, transport=transport) as cp:
        with pytest.raises(NotFoundError) as caught:
            await cp.ping()
    assert "/v2/" not in str(caught.value).partition(")")[2]  # no hint when the path is right


# -- a client never closed -------------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_an_unclosed_client_warns_once_and_releases_its_aiohttp_session() -> None:
    """One ResourceWarning of the SDK's own; aiohttp's session and connector are closed."""
    async with CincopaEmulator() as emu, emu.serve() as base_url:
        client = AsyncCincopa(emu.create_token(), base_url=base_url)
        await client.ping()
        transport = client._shared.direct
        assert transport is not None
        session = transport._session  # type: ignore[attr-defined]  # the SDK's aiohttp session
        connector = weakref.ref(session.connector)
        session = weakref.ref(session)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del client, transport
            gc.collect()
            gc.collect()  # anything aiohttp would say after the first collection
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1, messages
    assert caught[0].category is ResourceWarning
    assert "AsyncCincopa client was used and never closed" in messages[0]
    assert "async with AsyncCincopa()" in messages[0]
    assert "await cp.aclose()" in messages[0]
    assert session() is None or session().closed  # type: ignore[union-attr]
    assert connector() is None or connector().closed  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_closed_or_unused_client_does_not_warn() -> None:
    async with CincopaEmulator() as emu:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            unused = AsyncCincopa(emu.create_token(), base_url=emu.base_url)
            async with emu.client() as closed:
                await closed.ping()
            del unused, closed
            gc.collect()
    assert caught == []


def test_a_users_pytest_run_with_filterwarnings_error_names_the_client(tmp_path: Path) -> None:
    """What a user's suite (filterwarnings=error) shows for a forgotten close: our message only."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n', encoding="utf-8"
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import gc

            import anyio

            from cincopa_async import AsyncCincopa
            from cincopa_async.testing import CincopaEmulator


            def test_forgets_to_close():
                async def main():
                    async with CincopaEmulator() as emu, emu.serve() as base_url:
                        cp = AsyncCincopa(emu.create_token(), base_url=base_url)
                        await cp.ping()

                anyio.run(main)


            def test_later():
                gc.collect()
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:cincopa", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**_environment(), "PYTHONPATH": str(ROOT)},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "ResourceWarning: an AsyncCincopa client was used and never closed" in output
    assert "Unclosed client session" not in output
    assert "Unclosed connector" not in output


def _environment() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("CINCOPA_")}


# -- the first use does its slow part off the event loop ------------------------------------------

_IMPORT_PROBE = """
import sys, threading

watched = {
    "aiohttp",
    "attr",
    "cattrs",
    "anyio._backends._asyncio",
    "anyio._backends._trio",
    "cincopa_async._models",
    "cincopa_async._converter",
    "cincopa_async._bulk",
    "cincopa_async._json",
    "orjson",
}
importers = {}


class Probe:
    def find_spec(self, name, path=None, target=None):
        if name in watched and name not in importers:
            importers[name] = threading.current_thread().name
        return None


if sys.argv[1] == "trio":
    import trio  # before the probe: trio imports attrs itself
# before the probe: what httpx imports is httpx's (httpx 0.27 imports httpcore at once, and
# httpcore imports trio, and trio attrs, wherever trio is installed)
import httpx  # noqa: E402, F401

already = sorted(name for name in watched if name in sys.modules)
sys.meta_path.insert(0, Probe())
from cincopa_async import AsyncCincopa  # noqa: E402


async def main():
    async with AsyncCincopa("1234567itoken", base_url="http://127.0.0.1:9/v2/") as cp:
        cp.bulk  # noqa: B018 - the bulk engine, loaded already
    print(sorted(importers.items()))
    print(threading.main_thread().name)
    print(already)


if sys.argv[1] == "asyncio":  # the loop's own runner: anyio.run would import its backend first
    import asyncio

    asyncio.run(main())
else:
    trio.run(main)
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_opening_a_client_loads_its_modules_in_a_worker_thread(backend: str) -> None:
    """aiohttp (asyncio only), anyio's backend for the loop, the reply models, attrs, cattrs,
    their converters, the JSON decoder (orjson) and the bulk engine are imported in a worker
    thread when a client opens, never on the event loop's thread, where hundreds of
    milliseconds of imports would stall every other task; ``import cincopa_async`` imports
    none of them (but what ``import httpx`` imports: httpx 0.27 brings trio's attrs)."""
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, backend],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_environment(), "PYTHONPATH": str(ROOT)},
        check=True,
    )
    importers_line, main_thread, already_line = result.stdout.strip().splitlines()
    importers = dict(ast.literal_eval(importers_line))
    expected = {"cincopa_async._models", "cincopa_async._converter", "cincopa_async._bulk"}
    expected |= {"cincopa_async._json", "orjson"}  # the JSON decoder
    expected.add("cattrs")  # not by ``import cincopa_async``: 20-25 ms of its import, with attrs
    expected.add(f"anyio._backends._{backend}")
    if backend == "asyncio":  # (trio imports attrs itself)
        expected |= {"attr", "aiohttp"}
    expected -= set(ast.literal_eval(already_line))  # imported by httpx, before the SDK
    assert set(importers) == expected, importers
    assert main_thread not in importers.values(), importers
