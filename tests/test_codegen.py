"""The generated module is fresh, and every method matches the table."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from cincopa_async import AsyncCincopa
from cincopa_async._spec import ENDPOINTS, Endpoint
from tools import codegen

from .conftest import TOKEN


def test_generated_module_is_fresh() -> None:
    """_generated.py is exactly what the table renders to (run the codegen if not)."""
    assert codegen.TARGET.read_text(encoding="utf-8") == codegen.render()


def test_codegen_check_command() -> None:
    """``python tools/codegen.py --check`` exits 0 on a fresh tree."""
    script = Path(codegen.__file__)
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr


def test_codegen_is_not_part_of_the_package() -> None:
    """The generator is a development tool: not importable from the installed package."""
    import importlib.util

    assert importlib.util.find_spec("cincopa_async._codegen") is None


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_signature_matches_the_table(endpoint: Endpoint) -> None:
    """Keyword-only parameters named as the table says; required ones have no default."""
    client = AsyncCincopa(TOKEN)
    owner = getattr(client, endpoint.resource) if endpoint.resource else client
    method = getattr(owner, endpoint.action)
    parameters = dict(inspect.signature(method).parameters)
    expected = {p.python_name: p for p in endpoint.params}
    if endpoint.url_only:
        assert parameters.pop("api_token").default is None
    assert set(parameters) == set(expected)
    for name, parameter in parameters.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        required = expected[name].required
        assert (parameter.default is inspect.Parameter.empty) is required, name
    assert inspect.iscoroutinefunction(method) is (endpoint.pages is None and not endpoint.url_only)
    assert endpoint.summary.split()[0] in (method.__doc__ or "")
    assert f"{endpoint.method} /v2/{endpoint.path}" in (method.__doc__ or "")


def test_keywords_get_a_trailing_underscore_builtins_do_not() -> None:
    """``from`` becomes ``from_``; ``type`` and ``id`` stay."""
    client = AsyncCincopa(TOKEN)
    assert "from_" in inspect.signature(client.portal.rename).parameters
    assert "type" in inspect.signature(client.asset.list).parameters
    assert "id" in inspect.signature(client.live.start).parameters
    assert "disable_undo" in inspect.signature(client.upload.iframe).parameters
