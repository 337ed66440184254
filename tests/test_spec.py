"""The endpoint table against the API reference (``endpoints.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cincopa_async._spec import ENDPOINTS_BY_NAME, ParamKind

COPY = Path(__file__).parent / "fixtures" / "endpoints.json"
SHARED = Path(__file__).parents[2] / "shared" / "cincopa-api" / "endpoints.json"
REFERENCE: list[dict[str, Any]] = json.loads(COPY.read_text(encoding="utf-8"))
KINDS = {
    "string": {ParamKind.STR, ParamKind.PIPE},
    "integer": {ParamKind.INT},
    "csv-list": {ParamKind.CSV},
    "enum": {ParamKind.ENUM, ParamKind.YES_NO},
    "boolean": {ParamKind.BOOL},
    "json": {ParamKind.JSON},
}


@pytest.mark.skipif(not SHARED.exists(), reason="no ../shared beside this clone (CI has it)")
def test_the_copy_of_the_reference_is_current() -> None:
    """tests/fixtures/endpoints.json is byte for byte the project's reference."""
    assert COPY.read_bytes() == SHARED.read_bytes()


def test_same_operations() -> None:
    assert {e["name"] for e in REFERENCE} == set(ENDPOINTS_BY_NAME)


@pytest.mark.parametrize("reference", REFERENCE, ids=lambda e: e["name"])
def test_operation_matches_the_reference(reference: dict[str, Any]) -> None:
    """Method, parameters (wire names, required, kind, choices) and inferred marks."""
    endpoint = ENDPOINTS_BY_NAME[reference["name"]]
    assert endpoint.method == reference["method"]
    assert endpoint.inferred == (reference["confidence"] == "inferred")
    params = [p for p in reference["params"] if p["name"] not in ("api_token", "callback")]
    assert [p.wire for p in endpoint.params] == [p["name"] for p in params]
    for param, ref in zip(endpoint.params, params, strict=True):
        assert param.required == ref["required"], param.wire
        assert param.kind in KINDS[ref["type"]], param.wire
        if param.kind is ParamKind.ENUM:
            assert param.choices == tuple(ref["enum"])
        if param.kind is ParamKind.YES_NO:
            assert sorted(ref["enum"]) == ["no", "yes"]
        assert param.inferred == (ref.get("confidence") == "inferred"), param.wire
