"""Type-checked by mypy and pyright (``nox -s typing``), never executed: bulk results narrow.

The README's pattern must pass both checkers, and an item must never be ``Any``: assert_type
fails a checker run when the revealed type differs.
"""

from __future__ import annotations

from typing import Literal, assert_type

from cincopa_async import (
    Ack,
    Asset,
    AsyncCincopa,
    BulkFailure,
    BulkItem,
    BulkResult,
    BulkSuccess,
)
from cincopa_async._bulk import FileToUpload


async def readme_pattern(cp: AsyncCincopa, fid: str) -> None:
    result = await cp.bulk.upload_files(["a.mp4", "b.mp4"], gallery=fid)
    assert_type(result, BulkResult[FileToUpload, Asset])
    for item in result:  # one item per input, in input order
        print(item.input, item.value.rid if item.ok else item.error)


async def items_are_the_union(cp: AsyncCincopa) -> None:
    result = await cp.bulk.delete(["R1", "R2"])
    for item in result:
        assert_type(item, BulkSuccess[str, Ack] | BulkFailure[str])
        assert_type(item, BulkItem[str, Ack])
        assert_type(item.input, str)
        assert_type(item.value, Ack)  # a failure's value raises: only a success's is typed
        assert_type(item.ok, bool)
    assert_type(result[0], BulkItem[str, Ack])
    assert_type(result.items, tuple[BulkItem[str, Ack], ...])
    assert_type(result.succeeded, tuple[BulkSuccess[str, Ack], ...])
    assert_type(result.failed, tuple[BulkFailure[str], ...])
    for failure in result.failed:
        assert_type(failure.error, Exception)
        assert_type(failure.ok, Literal[False])
    for success in result.succeeded:
        assert_type(success.value, Ack)
        assert_type(success.error, None)


async def narrowing_that_both_checkers_do(cp: AsyncCincopa) -> None:
    result = await cp.bulk.run(lambda n: _square(n), [1, 2, 3])
    for item in result:
        if item.ok is True:
            assert_type(item, BulkSuccess[int, int])
        else:
            assert_type(item, BulkFailure[int])
            assert_type(item.error, Exception)
        if isinstance(item, BulkFailure):
            raise item.error
        assert_type(item, BulkSuccess[int, int])


async def _square(number: int) -> int:
    return number * number
