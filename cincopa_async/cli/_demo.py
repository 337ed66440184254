"""``cincopa demo``: the SDK's main job against an emulator it starts (no token, no network).

Every call goes over real HTTP on the loopback interface: the emulator and a webhook receiver
(``cincopa_async.webhooks.WebhookReceiver``) run inside the command, each served on a free
loopback port.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from cincopa_async._client import AsyncCincopa
from cincopa_async.webhooks import AssetUploadedEvent, WebhookEvent, WebhookReceiver

from ._output import Output
from ._progress import human_bytes

__all__ = ["demo"]

_HOOK_KEY = "demo-security-key"
_CHUNK_SIZE = 256 * 1024
_EXTENSIONS = ("mp4", "mov", "jpg", "png", "mp3")


class _Steps:
    def __init__(self, out: Output) -> None:
        self.out = out
        self.rows: list[tuple[str, float, str]] = []
        self.started = time.monotonic()

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[list[str]]:
        detail: list[str] = []
        started = time.monotonic()
        yield detail
        elapsed = time.monotonic() - started
        self.rows.append((name, elapsed, " ".join(detail)))
        self.out.line(f"  {name:<22} {elapsed * 1000:7.0f} ms  {' '.join(detail)}")


def _media(directory: Path, count: int) -> list[Path]:
    """``count`` files of 60-700 kB; every third is larger than the chunk size (256 KiB)."""
    rng = random.Random(2026)
    paths = []
    for index in range(count):
        size = rng.randint(300_000, 700_000) if index % 3 == 0 else rng.randint(60_000, 240_000)
        path = directory / f"clip-{index + 1:02d}.{_EXTENSIONS[index % len(_EXTENSIONS)]}"
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    return paths


async def demo(out: Output, *, files: int = 24, concurrency: int = 6, live: bool | None) -> None:
    """Run the demo (see the module docstring) and print a summary with timings."""
    from cincopa_async.testing import CincopaEmulator, serve_asgi_app

    from ._app import upload_files

    received: list[WebhookEvent] = []
    emu = CincopaEmulator(seed=7, webhook_retry_delays=(0.05, 0.2), record_requests=False)
    token = emu.create_token()
    out.add_secret(token)
    steps = _Steps(out)
    receiver = WebhookReceiver(received.append, security_key=_HOOK_KEY)
    with tempfile.TemporaryDirectory(prefix="cincopa-demo-") as tmp:
        async with (
            emu.serve() as base_url,
            serve_asgi_app(receiver) as hook_root,
            AsyncCincopa(token, base_url=base_url, max_concurrency=16) as cp,
        ):
            out.line(f"cincopa demo: emulator at {base_url}, webhook receiver at {hook_root}/")
            async with steps.step("ping") as detail:
                who = await cp.ping()
                detail.append(f"account {who.accid}, permissions {who.permissions!r}")
            async with steps.step("gallery.create") as detail:
                gallery = await cp.gallery.create(name="Demo launch", description="cincopa demo")
                detail.append(f"fid {gallery.fid}")
            async with steps.step("generate media") as detail:
                paths = await anyio.to_thread.run_sync(_media, Path(tmp), files)
                size = sum(path.stat().st_size for path in paths)
                chunked = sum(path.stat().st_size > _CHUNK_SIZE for path in paths)
                detail.append(
                    f"{len(paths)} files, {human_bytes(size)}"
                    f" ({chunked} over the {human_bytes(_CHUNK_SIZE)} chunk size)"
                )
            async with steps.step("bulk upload") as detail:
                result = await upload_files(
                    cp,
                    out,
                    [str(path) for path in paths],
                    gallery=gallery.fid,
                    concurrency=concurrency,
                    chunk_size=_CHUNK_SIZE,
                    tags=["demo"],
                    live=live,
                    show_rids=False,
                )
                uploaded = [item.value for item in result.succeeded]
                detail.append(f"{len(uploaded)} ok, {len(result.failed)} failed")
            async with steps.step("webhook.set") as detail:
                # Subscribed here, so that the import below is what the receiver hears about.
                hook_url = f"{hook_root}/hooks/cincopa"
                await cp.webhook.set(
                    hook_url=hook_url, events=["asset.uploaded"], security_key=_HOOK_KEY
                )
                detail.append(f"asset.uploaded -> {hook_url} (signed)")
            async with steps.step("import from URL") as detail:
                emu.add_file("trailer.mp4", random.Random(1).randbytes(150_000))
                url = base_url.replace("/v2/", "/files/trailer.mp4")  # served on the port too
                imported = await cp.import_url(
                    url, gallery=gallery.fid, caption="Trailer (imported)", poll_interval=0.02
                )
                detail.append(f"rid {imported.rid} from {url}")
            async with steps.step("bulk set_meta") as detail:
                updates: list[dict[str, Any]] = [
                    {
                        "rid": asset.rid,
                        "caption": f"Launch clip {index + 1}",
                        "tags": ["demo", "launch"],
                        "reference_id": asset.reference_id or None,
                    }
                    for index, asset in enumerate(uploaded)
                ]
                meta = await cp.bulk.set_meta(updates, concurrency=concurrency)
                detail.append(f"{len(meta.succeeded)} assets captioned and tagged")
            async with steps.step("page through library") as detail:
                pages = count = 0
                async for page in cp.asset.list(items_per_page=10).pages():
                    pages += 1
                    count += len(page.items)
                detail.append(f"{count} assets on {pages} pages of 10 (async for)")
            async with steps.step("webhooks received") as detail:
                with anyio.move_on_after(5):
                    while not received:  # noqa: ASYNC110 - filled on the receiver's thread
                        await anyio.sleep(0.02)
                kinds = Counter(event.event for event in list(received))
                detail.append(", ".join(f"{name} x{n}" for name, n in sorted(kinds.items())))
                first = next((e for e in received if isinstance(e, AssetUploadedEvent)), None)
                if first is not None:
                    detail.append(
                        f"| AssetUploadedEvent(rid={first.rid!r}, filename={first.filename!r}),"
                        " signature verified"
                    )
    total = time.monotonic() - steps.started
    events = len(received)
    out.line(
        f"done in {total:.2f} s: {len(uploaded) + 1} assets in gallery {gallery.fid},"
        f" {events} webhook {'event' if events == 1 else 'events'} received"
    )
    if result.failed or not received:
        from cincopa_async._errors import CincopaError

        raise CincopaError("the demo did not complete every step", operation="demo")
