"""Every operation of the table, called through its generated method against a MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cincopa_async import AsyncPager, _models
from cincopa_async._converter import make_converter
from cincopa_async._spec import ENDPOINTS, Endpoint, Param, ParamKind

from .conftest import TOKEN, MakeClient, golden

pytestmark = pytest.mark.anyio

STRICT = make_converter(strict=True)

SAMPLE_JSON = {"primary_color": "#2A5F9E", "nested": [1, "two", None], "ok": True}


def sample(param: Param) -> tuple[object, str]:
    """A Python value for a parameter and the wire text it must be sent as."""
    match param.kind:
        case ParamKind.STR:
            return f"value of {param.wire} é", f"value of {param.wire} é"
        case ParamKind.INT:
            return 7, "7"
        case ParamKind.CSV:
            return ["alpha", "beta"], "alpha,beta"
        case ParamKind.PIPE:
            return ["asset.read", "gallery.*"], "asset.read|gallery.*"
        case ParamKind.ENUM:
            return param.choices[-1], param.choices[-1]
        case ParamKind.YES_NO:
            return True, "yes"
        case ParamKind.BOOL:
            return True, "true"
        case ParamKind.JSON:
            return SAMPLE_JSON, json.dumps(SAMPLE_JSON, separators=(",", ":"))
    raise AssertionError(param.kind)  # pragma: no cover


def method_of(client: AsyncCincopa_, endpoint: Endpoint) -> Any:
    owner = getattr(client, endpoint.resource) if endpoint.resource else client
    return getattr(owner, endpoint.action)


AsyncCincopa_ = Any


def test_table_has_every_operation_once() -> None:
    """42 operations, unique names; every reply model exists in _models."""
    names = [endpoint.name for endpoint in ENDPOINTS]
    assert len(names) == 42
    assert len(set(names)) == 42
    for endpoint in ENDPOINTS:
        if not endpoint.url_only:
            assert isinstance(getattr(_models, endpoint.reply), type), endpoint.name


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
async def test_every_param_is_sent_in_its_wire_form(
    endpoint: Endpoint, make_client: MakeClient
) -> None:
    """Declared method, path, api_token and every parameter's wire name and encoding."""
    client, recorder = make_client()
    arguments: dict[str, object] = {}
    expected = {"api_token": TOKEN}
    for param in endpoint.params:
        value, wire = sample(param)
        arguments[param.python_name] = value
        expected[param.wire] = wire
    async with client:
        result = method_of(client, endpoint)(**arguments)
        if endpoint.url_only:
            url = httpx.URL(result)
            assert recorder.requests == []
            assert url.path == f"/v2/{endpoint.path}"
            assert dict(url.params.multi_items()) == expected
            return
        if endpoint.pages is not None:
            assert isinstance(result, AsyncPager)
        reply = await result
    [request] = recorder.requests
    assert request.method == endpoint.method
    assert request.url.host == "api.cincopa.com"
    assert request.url.path == f"/v2/{endpoint.name}.json"
    assert dict(request.url.params.multi_items()) == expected
    assert len(request.url.params.multi_items()) == len(expected)
    assert request.content == b""
    model = getattr(_models, endpoint.reply)
    assert type(reply) is model
    assert reply == STRICT.structure(golden(endpoint.name), model)
    assert reply.raw == golden(endpoint.name)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.params], ids=lambda e: e.name)
async def test_omitted_optional_params_are_not_sent(
    endpoint: Endpoint, make_client: MakeClient
) -> None:
    """Only the required parameters travel when the optional ones are left out."""
    client, recorder = make_client()
    arguments = {p.python_name: sample(p)[0] for p in endpoint.params if p.required}
    async with client:
        result = method_of(client, endpoint)(**arguments)
        if endpoint.url_only:
            sent = set(httpx.URL(result).params.keys())
        else:
            await result
            sent = set(recorder.requests[0].url.params.keys())
    assert sent == {"api_token"} | {p.wire for p in endpoint.params if p.required}
