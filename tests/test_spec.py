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


# Facts settled since the reference was written, each with its evidence (an S-number of
# REAL-CLIENTS.md): the copy in tests/fixtures is the reference with these applied. Each is
# skipped once the reference has it. (operation, new param, the param it follows, evidence)
AMENDMENTS: tuple[tuple[str, dict[str, Any], str, str], ...] = (
    (
        "asset.set_meta",
        {
            "name": "cache",
            "in": "query",
            "type": "enum",
            "required": False,
            "enum": ["never"],
            "description": "'never' bypasses caching (sent so by Cincopa's Chrome extension;"
            " effect inferred)",
            "confidence": "code",
        },
        "tags",
        "S7: POST asset.set_meta.json? + 'cache=never&' (when tags) + api_token=..&rid=..",
    ),
)


def amended(reference: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``reference`` with ``AMENDMENTS`` applied (those it already has are left alone)."""
    operations = {operation["name"]: operation for operation in reference}
    for name, param, after, _evidence in AMENDMENTS:
        params = operations[name]["params"]
        if any(p["name"] == param["name"] for p in params):
            continue
        position = next(i for i, p in enumerate(params) if p["name"] == after)
        params.insert(position + 1, param)
    return reference


@pytest.mark.skipif(not SHARED.exists(), reason="no ../shared beside this clone (CI has it)")
def test_the_copy_of_the_reference_is_current() -> None:
    """tests/fixtures/endpoints.json is byte for byte the project's reference, amended."""
    reference = amended(json.loads(SHARED.read_text(encoding="utf-8")))
    assert COPY.read_bytes() == json.dumps(reference, indent=1, ensure_ascii=False).encode()


def test_every_amendment_is_in_the_copy() -> None:
    """Holds on a clone without ../shared too: the amendments are applied to the copy."""
    assert amended(json.loads(COPY.read_text(encoding="utf-8"))) == REFERENCE


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
