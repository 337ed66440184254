"""Structuring a 1,000-asset ``asset.list`` page: our cattrs converter against pydantic v2.

Both sides get the same page with the same wire quirks (ids and sizes sent as strings,
comma-separated tags, ISO dates, nested thumbnail and versions) and produce typed objects with
the same coercions. Two comparisons:

* from the page's bytes, as a reply arrives (the headline): the SDK's ``json.loads`` + cattrs
  (``detailed=False``, its request path) against pydantic's ``model_validate_json``, which
  parses and validates in one pass in Rust;
* from the decoded dict: cattrs against pydantic's ``model_validate``.

Prints per-asset microseconds, medians (min-max) of ``--rounds`` interleaved rounds, and the
ratio to pydantic (median of per-round ratios).

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
from cincopa_async._converter import make_converter


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
    cases = {
        "bytes: SDK json.loads + cattrs": lambda: fast.structure(json.loads(body), AssetList),
        "bytes: pydantic model_validate_json": lambda: PAssetList.model_validate_json(body),
        "dict: cattrs (SDK path, detailed=False)": lambda: fast.structure(payload, AssetList),
        "dict: cattrs (detailed=True)": lambda: detailed.structure(payload, AssetList),
        "dict: pydantic model_validate": lambda: PAssetList.model_validate(payload),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):  # interleaved rounds
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            results[name].append((time.perf_counter() - start) / 1000 * 1e6)  # us per asset
    print(f"structuring a 1,000-asset page, us per asset, median (min-max) of {args.rounds} rounds")
    for name, times in results.items():
        base = "bytes: pydantic model_validate_json"
        if name.startswith("dict"):
            base = "dict: pydantic model_validate"
        ratios = [t / b for t, b in zip(times, results[base], strict=True)]
        print(
            f"  {name:<42} {statistics.median(times):6.2f} ({min(times):.2f}-{max(times):.2f})"
            f"   {statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) pydantic"
        )
    print("  goal: from bytes, the SDK <= 1.0x model_validate_json")


if __name__ == "__main__":
    main()
