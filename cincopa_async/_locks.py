"""Coordination between the uploads and imports of one client that could be mistaken for each other.

The upload and import protocols have no idempotency key: after a lost reply, the SDK finds what
an attempt stored by looking at the library. Two operations of the same client that could store
look-alike assets (the same reference_id, or the same file name and size) must then not run their
store-and-tag steps at the same time, or one could take the other's asset for its own.

* ``KeyedLocks``: one lock per key, alive only while someone holds or waits for it (memory
  stays proportional to the operations in flight, not to a job's size).
* ``ImportRegistry``: the imports in flight, by the file name their asset will get, and the rids
  they are known to have produced. A lost-reply import may adopt an unreferenced asset of its
  name only when every other import of that name in this client knows its own rid.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Hashable, Iterator

import anyio

__all__ = ["ImportClaim", "ImportRegistry", "KeyedLocks"]


class KeyedLocks:
    """``async with locks.hold(key):`` -- one holder per key at a time."""

    __slots__ = ("_locks",)

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[anyio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (anyio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class _Imports:
    __slots__ = ("claimed", "unresolved")

    def __init__(self) -> None:
        self.unresolved = 0
        self.claimed: set[str] = set()


class ImportClaim:
    """One import in flight: ``resolve(rid)`` once its asset is known."""

    __slots__ = ("_entry", "rid")

    def __init__(self, entry: _Imports) -> None:
        self._entry = entry
        self.rid: str | None = None

    def resolve(self, rid: str) -> None:
        if self.rid is None:
            self.rid = rid
            self._entry.unresolved -= 1
            self._entry.claimed.add(rid)

    def others_unresolved(self) -> bool:
        """Does another import of the same name not know its asset yet?"""
        return self._entry.unresolved > (1 if self.rid is None else 0)

    def claimed_by_others(self) -> frozenset[str]:
        return frozenset(self._entry.claimed - {self.rid} if self.rid else self._entry.claimed)


class ImportRegistry:
    __slots__ = ("_by_name",)

    def __init__(self) -> None:
        self._by_name: dict[str, _Imports] = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def claimed(self, name: str) -> frozenset[str]:
        """The rids that imports of ``name`` in flight know to be theirs."""
        entry = self._by_name.get(name)
        return frozenset(entry.claimed) if entry is not None else frozenset()

    @contextlib.contextmanager
    def track(self, name: str) -> Iterator[ImportClaim]:
        entry = self._by_name.setdefault(name, _Imports())
        entry.unresolved += 1
        claim = ImportClaim(entry)
        try:
            yield claim
        finally:
            if claim.rid is None:
                entry.unresolved -= 1
            else:
                entry.claimed.discard(claim.rid)
            if not entry.unresolved and not entry.claimed:
                del self._by_name[name]
