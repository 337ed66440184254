"""A model-based test of the bulk engine: random jobs under random fault schedules.

Hypothesis draws a job -- files whose names, sizes and bytes collide on purpose (the same name in
several folders, equal sizes with other bytes, identical bytes, empty files), references given
and repeated, URLs whose file names collide or repeat -- and a fault schedule (connections
dropped before and after the change is applied, 429s with any ``Retry-After``, 5xx, truncated
and garbled replies, failing upload chunks, lost import replies). The job runs against the
in-process emulator (uploads and imports at once), then again without faults, and after each
run the account is checked against what the inputs say it must hold:

* one outcome per input, in input order;
* per reference, at most one asset, holding the bytes of the inputs with that reference (the
  caller's references here repeat only for the same name and bytes in several folders; what two
  different files under one reference give is pinned in test_bulk_attacks);
* an untagged (orphan) asset only where an item failed -- what a rerun must adopt;
* nothing imported twice: at most one asset per URL reference, none untagged after the rerun;
* after the rerun: every item succeeded, exactly one asset per distinct reference, no orphan;
* no task, lock or import claim left behind.

``nox -s fuzz`` runs it with many more examples.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cincopa_async import AsyncCincopa, CincopaValidationError
from cincopa_async.testing import CincopaEmulator

from .conftest import Sleeps

# Few names and sizes, so that inputs collide: the same name in several folders, the same size
# with other bytes, identical bytes under another name.
NAMES = ("frame.raw", "clip.mp4")
CONTENTS = (b"", b"A" * 700, b"B" * 700, b"A" * 699 + b"!", b"C" * 1500)
URL_PATHS = ("x/video.mp4", "y/video.mp4", "z.mp4")
OPERATIONS = (
    "upload",
    "asset.list",
    "asset.set_meta",
    "asset.get_upload_url",
    "asset.upload_from_url",
    "asset.upload_from_url_get_status",
)
KINDS = (
    "drop_before",
    "drop_after",
    "rate_limit",
    "server_error",
    "truncated_body",
    "malformed_body",
    "wrong_shape",
    "upload_chunk_failure",
)


class FileSpec(NamedTuple):
    folder: int
    name: str
    content: bytes
    reference: bool  # a reference given by the caller: one per (name, bytes), so it repeats


class FaultSpec(NamedTuple):
    kind: str
    operation: str
    rate: float
    retry_after: float | str


class Job(NamedTuple):
    files: list[FileSpec]
    urls: list[str]
    # the hard cases, each at its own rate: replies lost after the server acted
    lost_import_replies: float
    lost_upload_replies: float
    lost_tagging: float  # asset.set_meta failing: a stored file left untagged
    faults: list[FaultSpec]  # and anything else, anywhere
    seed: int
    chunk_size: int
    import_delay: float  # the emulator's imports take (real) time: a lost reply races them


files = st.builds(
    FileSpec,
    folder=st.integers(0, 3),
    name=st.sampled_from(NAMES),
    content=st.sampled_from(CONTENTS),
    reference=st.booleans(),
)
faults = st.builds(
    FaultSpec,
    kind=st.sampled_from(KINDS),
    operation=st.sampled_from(OPERATIONS),
    rate=st.sampled_from((0.1, 0.3, 0.6)),
    retry_after=st.sampled_from((0, 1, 3600, "inf", "Fri, 31 Dec 9999 23:59:59 GMT")),
)
jobs = st.builds(
    Job,
    files=st.lists(files, max_size=9),
    urls=st.lists(st.sampled_from(URL_PATHS), max_size=4),
    lost_import_replies=st.sampled_from((0.0, 0.3, 0.7)),
    lost_upload_replies=st.sampled_from((0.0, 0.3)),
    lost_tagging=st.sampled_from((0.0, 0.4)),
    faults=st.lists(faults, max_size=3),
    seed=st.integers(0, 2**16),
    chunk_size=st.sampled_from((512, 8 * 1024 * 1024)),  # chunked uploads, or one POST
    import_delay=st.sampled_from((0.0, 0.003)),
)


class FastSleeps(Sleeps):
    """The client's waits, recorded and taken a thousand times faster: its clock stays in step
    with the emulator's (real-time) imports, so a wait of the SDK's still lets them progress."""

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await anyio.sleep(min(delay, 60.0) / 1000)


def _derived(name: str, content: bytes) -> str:
    """Written here again from the documented rule, not taken from the SDK."""
    digest = hashlib.sha256(content).hexdigest()
    return "sha256-" + hashlib.sha256(name.encode() + b"\0" + digest.encode()).hexdigest()[:32]


async def run_job(job: Job, root: Path) -> None:
    paths = []
    for spec in job.files:
        path = root / f"d{spec.folder}" / spec.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path in paths:  # one input per path: the same path twice is the same file
            continue
        path.write_bytes(spec.content)
        paths.append(path)
    specs = {root / f"d{s.folder}" / s.name: s for s in job.files}
    given = {
        path: f"given-{path.name}-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}"
        for path in paths
        if specs[path].reference
    }
    reference_of = {
        path: given.get(path) or _derived(path.name, path.read_bytes()) for path in paths
    }

    async with CincopaEmulator(seed=job.seed, import_chunk_delay=job.import_delay) as emu:
        urls = [emu.add_file(path, path.encode() * 50) for path in job.urls]
        sleeps = FastSleeps()
        tasks_before = len(anyio.get_running_tasks())
        async with emu.client(max_concurrency=4, max_retries=1) as cp:
            cp._shared.sleep = sleeps
            hard = [
                FaultSpec("drop_after", "asset.upload_from_url", job.lost_import_replies, 0),
                FaultSpec("drop_after", "upload", job.lost_upload_replies, 0),
                FaultSpec("drop_before", "asset.set_meta", job.lost_tagging, 0),
            ]
            for fault in [*(f for f in hard if f.rate), *job.faults]:
                options: dict[str, Any] = {}
                if fault.kind == "rate_limit":
                    options["retry_after"] = fault.retry_after
                emu.faults.add(fault.kind, rate=fault.rate, operations=fault.operation, **options)
            first = await _both(cp, paths, given, urls, job.chunk_size)
            await emu.wait_idle()
            check(emu, paths, reference_of, urls, first, final=False)
            emu.faults.clear()
            second = await _both(cp, paths, given, urls, job.chunk_size)
            await emu.wait_idle()
            check(emu, paths, reference_of, urls, second, final=True)
            assert len(cp._shared.locks) == 0
            assert len(cp._shared.imports) == 0
        assert len(anyio.get_running_tasks()) == tasks_before
        assert all(delay <= 60 for delay in sleeps.delays)


async def _both(
    cp: AsyncCincopa, paths: list[Path], given: dict[Path, str], urls: list[str], chunk_size: int
) -> tuple[Any, Any]:
    results: dict[str, Any] = {}

    async def uploads() -> None:
        results["uploads"] = await cp.bulk.upload_files(
            paths, reference_ids=given, chunk_size=chunk_size, concurrency=3
        )

    async def imports() -> None:
        results["imports"] = await cp.bulk.import_urls(
            urls, poll_interval=0.01, timeout=60, concurrency=2
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(uploads)
        tg.start_soon(imports)
    return results["uploads"], results["imports"]


def check(
    emu: CincopaEmulator,
    paths: list[Path],
    reference_of: dict[Path, str],
    urls: list[str],
    results: tuple[Any, Any],
    *,
    final: bool,
) -> None:
    uploads, imports = results
    assert [item.input for item in uploads] == paths
    assert [item.input for item in imports] == urls
    empty = [item for item in uploads if item.input.stat().st_size == 0]
    assert all(isinstance(item.error, CincopaValidationError) for item in empty)
    paths = [path for path in paths if path.stat().st_size]  # empty ones are refused, unsent
    if final:
        assert all(item.ok for item in uploads if item.input in paths), [
            repr(item.error) for item in uploads.failed
        ]
        assert imports.ok, [repr(item.error) for item in imports.failed]
    assets = list(emu.state.main.assets.values())
    by_reference: dict[str, list[Any]] = defaultdict(list)
    for asset in assets:
        by_reference[asset.reference_id].append(asset)
    orphans = by_reference.pop("", [])
    group: dict[str, set[bytes]] = defaultdict(set)
    for path in paths:
        group[reference_of[path]].add(path.read_bytes())
    reference_of = {path: reference_of[path] for path in paths}
    for url in urls:
        group["url-sha256-" + hashlib.sha256(url.encode()).hexdigest()[:32]].add(
            emu.state.files[url.rsplit("/files/", 1)[1]][0]
        )
    for reference, holders in by_reference.items():
        assert len(holders) == 1, f"{len(holders)} assets for {reference}"
        assert holders[0].content in group[reference], reference
    for item in uploads:
        if item.ok:
            stored = emu.state.main.assets[item.value.rid]
            assert stored.reference_id == reference_of[item.input]
            if len(group[reference_of[item.input]]) == 1:
                assert stored.content == item.input.read_bytes()
    for item in imports:
        if item.ok:
            assert emu.state.main.assets[item.value.rid].reference_id.startswith("url-sha256-")
    if final:
        assert orphans == [], [(a.filename, len(a.content)) for a in orphans]
        assert set(by_reference) == set(reference_of.values()) | {
            "url-sha256-" + hashlib.sha256(url.encode()).hexdigest()[:32] for url in urls
        }
    elif orphans:
        failures = [item for item in [*uploads, *imports] if not item.ok and item not in empty]
        assert failures, "an orphan although every item succeeded"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(
    max_examples=max(100, settings().max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(job=jobs)
def test_bulk_jobs_under_random_faults_lose_and_duplicate_nothing(
    backend: str, job: Job, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("job")
    anyio.run(run_job, job, root, backend=backend)
