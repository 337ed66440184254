"""Structuring a 1,000-asset ``asset.list`` page: our cattrs converter against pydantic v2.

Both sides get the same page with the same wire quirks (ids and sizes sent as strings,
comma-separated tags, ISO dates, nested thumbnail and versions) and produce typed objects with
the same coercions. Two comparisons:

* from the page's bytes, as a reply arrives (the headline): the SDK's request path (the value
  budgets, ``_json.loads``: orjson where it gives what ``json.loads`` gives, then the fast
  converter, ``detailed=False``, through ``_client._structure``) against pydantic's
  ``model_validate_json``, which parses and validates in one pass in Rust; ``json.loads`` +
  the fast converter for comparison;
* from the decoded dict: cattrs against pydantic's ``model_validate``.

Prints per-asset microseconds, medians (min-max) of ``--rounds`` interleaved rounds, and the
ratio to pydantic (median of per-round ratios); then the same for a ``ping`` reply (a small
body): decoding it (``json.loads``, ``_json.loads``) and the whole bytes -> model step, per call.

    python benchmarks/bench_structure.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cincopa_async import AssetList
from cincopa_async._client import _over_json_budget, _structure
from cincopa_async._converter import make_converter
from cincopa_async._json import loads
from cincopa_async._spec import ENDPOINTS_BY_NAME


def page(count: int = 1000) -> dict[str, Any]:
    items = [
        {
            "rid": f"AEyCfY7E{index:04d}",
            "id": str(196481794 + index),
            "type": "video" if index % 3 else "image",
            "filename": f"clip-{index}.mp4",
            "caption": f"Clip {index}",
            "description": "A short description of the clip.",
            "long_description": "",
            "related_link_text": "",
            "related_link_url": "",
            "reference_id": f"ref-{index}",
            "tags": "promo, launch,2026",
            "uploaded": "2025-04-23T10:15:00Z",
            "modified": "2025-04-23T10:20:00Z",
            "uploaded_by": "owner@example.com",
            "filesize": str(10_485_760 + index),
            "syncstatus": "synced",
            "storage": "s3",
            "thumbnail": {"url": f"https://cdn.example/{index}/thumb.jpg"},
            "versions": {
                "original": {"url": f"https://cdn.example/{index}/o.mp4", "filesize": "1048576"},
                "mp4_hd": {"url": f"https://cdn.example/{index}/hd.mp4"},
            },
            "exif": {"duration": "00:01:30.5"},
        }
        for index in range(count)
    ]
    return {
        "success": True,
        "runtime": "12.5",
        "items": items,
        "items_data": {
            "page": "1",
            "items_per_page": "1000",
            "items_count": "5000",
            "pages_count": "5",
        },
    }


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


Csv = Annotated[tuple[str, ...], BeforeValidator(_csv)]


class PThumbnail(BaseModel):
    model_config = ConfigDict(frozen=True)
    url: str = ""


class PVersion(BaseModel):
    model_config = ConfigDict(frozen=True)
    url: str = ""
    filesize: int | None = None


class PAsset(BaseModel):
    model_config = ConfigDict(frozen=True)
    rid: str
    id: str = ""
    type: str = ""
    filename: str = ""
    caption: str = ""
    description: str = ""
    long_description: str = ""
    related_link_text: str = ""
    related_link_url: str = ""
    reference_id: str = ""
    tags: Csv = ()
    uploaded: datetime | None = None
    modified: datetime | None = None
    uploaded_by: str = ""
    filesize: int | None = None
    syncstatus: str = ""
    storage: str = ""
    thumbnail: PThumbnail | None = None
    versions: dict[str, PVersion] = Field(default_factory=dict)
    exif: dict[str, Any] = Field(default_factory=dict)


class PPaging(BaseModel):
    model_config = ConfigDict(frozen=True)
    page: int = 1
    items_per_page: int = 0
    items_count: int = 0
    pages_count: int = 0


class PAssetList(BaseModel):
    model_config = ConfigDict(frozen=True)
    success: bool = True
    runtime: float | None = None
    items: tuple[PAsset, ...] = ()
    items_data: PPaging = PPaging()


PING = {
    "success": True,
    "runtime": "0.01",
    "ping": "pong",
    "accid": "1234567",
    "accid_num": "1234567",
    "accemail": "owner@example.com",
    "userid": "7654321",
    "userid_num": 7654321,
    "useremail": "owner@example.com",
    "permissions": "asset.read|asset.write|gallery.read",
}


def sdk_from_bytes(endpoint: str, body: bytes) -> Any:
    """What ``AsyncCincopa._decode`` then ``_structure`` do with a 200 reply's body."""
    assert _over_json_budget(body) is None
    return _structure(ENDPOINTS_BY_NAME[endpoint], loads(body), "http://127.0.0.1/v2/")


def run(cases: dict[str, Any], rounds: int, repeat: int) -> dict[str, list[float]]:
    """Microseconds per ``repeat`` of each case, ``rounds`` interleaved rounds."""
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            for _ in range(repeat):
                case()
            results[name].append((time.perf_counter() - start) / repeat * 1e6)
    return results


def report(results: dict[str, list[float]], base_of: Any) -> None:
    for name, times in results.items():
        base = results[base_of(name)]
        ratios = [t / b for t, b in zip(times, base, strict=True)]
        print(
            f"  {name:<48} {statistics.median(times):6.2f} ({min(times):.2f}-{max(times):.2f})"
            f"   {statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    payload = page()
    fast = make_converter(detailed=False)  # what the SDK's request path uses
    detailed = make_converter(detailed=True)
    ours = fast.structure(payload, AssetList)
    theirs = PAssetList.model_validate(payload)
    assert len(ours.items) == len(theirs.items) == 1000
    assert ours.items[5].tags == theirs.items[5].tags
    assert ours.items[5].filesize == theirs.items[5].filesize
    assert ours.items[5].uploaded == theirs.items[5].uploaded
    body = json.dumps(payload).encode()
    assert PAssetList.model_validate_json(body).items[5] == theirs.items[5]
    assert sdk_from_bytes("asset.list", body) == ours == detailed.structure(payload, AssetList)
    assert loads(body) == json.loads(body)
    json_base, dict_base = "bytes: pydantic model_validate_json", "dict: pydantic model_validate"
    cases = {
        "bytes: SDK request path (budgets, _json, _structure)": lambda: sdk_from_bytes(
            "asset.list", body
        ),
        "bytes: json.loads + cattrs (detailed=False)": lambda: fast.structure(
            json.loads(body), AssetList
        ),
        json_base: lambda: PAssetList.model_validate_json(body),
        "dict: cattrs (SDK path, detailed=False)": lambda: fast.structure(payload, AssetList),
        "dict: cattrs (detailed=True)": lambda: detailed.structure(payload, AssetList),
        dict_base: lambda: PAssetList.model_validate(payload),
    }
    results = run(cases, args.rounds, 1)
    results = {name: [t / len(ours.items) for t in times] for name, times in results.items()}
    print(
        f"structuring a 1,000-asset page ({len(body):,} bytes), us per asset, median (min-max)"
        f" of {args.rounds} rounds, and the ratio to pydantic"
    )
    report(results, lambda name: dict_base if name.startswith("dict") else json_base)
    print("  goal: from bytes, the SDK <= 1.0x model_validate_json")

    ping = json.dumps(PING).encode()
    small = {
        "json.loads": lambda: json.loads(ping),
        "_json.loads (orjson where the same)": lambda: loads(ping),
        "bytes -> Ping: SDK request path": lambda: sdk_from_bytes("ping", ping),
    }
    per_call = run(small, args.rounds, 2000)
    print(f"a ping reply ({len(ping)} bytes), us per call, and the ratio to json.loads")
    report(per_call, lambda name: "json.loads")


if __name__ == "__main__":
    main()
