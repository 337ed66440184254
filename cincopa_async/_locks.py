"""Coordination between the uploads and imports of one client that could be mistaken for each other.

The upload and import protocols have no idempotency key: after a lost reply, the SDK finds what
an attempt stored by looking at the library. Two operations of the same client that could store
look-alike assets (the same reference_id, or the same file name and size) must then not run their
store-and-tag steps at the same time, or one could take the other's asset for its own.

* ``KeyedLocks``: one lock per key, alive only while someone holds or waits for it (memory
  stays proportional to the operations in flight, not to a job's size).
* ``HandedOut``: the rids of the latest untagged assets this client's uploads returned to their
  callers. Such an asset is the caller's, never an orphan of a lost reply: a look-up for one
  (of another upload of the same name, size and bytes) passes over it.
* ``ImportRegistry``: the imports in flight, by the file name their asset will get, and the rids
  they are known to have produced. A lost-reply import may adopt an unreferenced asset of its
  name only when every other import of that name in this client knows its own rid.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Hashable, Iterator
from datetime import UTC, datetime

import anyio

__all__ = ["HandedOut", "ImportClaim", "ImportRegistry", "KeyedLocks"]


class _Held:
    __slots__ = ("depth", "lock", "owner", "users")

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.users = 0  # holding or waiting
        self.owner: int | None = None  # the task holding it
        self.depth = 0


class KeyedLocks:
    """``async with locks.hold(key):`` -- one task at a time per key. Re-entrant: a task holding
    a key may hold it again (an upload inside a bulk item that already holds its keys)."""

    __slots__ = ("_locks",)

    def __init__(self) -> None:
        self._locks: dict[Hashable, _Held] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        me = anyio.get_current_task().id
        held = self._locks.get(key)
        if held is not None and held.owner == me:
            held.depth += 1
            try:
                yield
            finally:
                held.depth -= 1
            return
        if held is None:
            held = self._locks[key] = _Held()
        held.users += 1
        try:
            async with held.lock:
                held.owner, held.depth = me, 1
                try:
                    yield
                finally:
                    held.owner, held.depth = None, 0
        finally:
            held.users -= 1
            if not held.users:
                del self._locks[key]


class HandedOut:
    """The last ``capacity`` rids added, oldest forgotten first (memory stays bounded)."""

    __slots__ = ("_capacity", "_rids")

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._rids: dict[str, None] = {}

    def add(self, rid: str) -> None:
        self._rids.pop(rid, None)
        self._rids[rid] = None
        if len(self._rids) > self._capacity:
            del self._rids[next(iter(self._rids))]

    def __contains__(self, rid: object) -> bool:
        return rid in self._rids

    def __len__(self) -> int:
        return len(self._rids)


class _Imports:
    __slots__ = ("changed", "claimed", "claims")

    def __init__(self) -> None:
        self.claims: list[ImportClaim] = []  # the imports of this name in flight
        self.claimed: set[str] = set()
        self.changed: anyio.Event | None = None  # set when a claim resolves or ends

    def notify(self) -> None:
        if self.changed is not None:
            self.changed.set()
            self.changed = None


class ImportClaim:
    """One import in flight: ``resolve(rid)`` once its asset is known."""

    __slots__ = ("_entry", "reconciling", "rid", "started")

    def __init__(self, entry: _Imports) -> None:
        self._entry = entry
        self.rid: str | None = None
        self.reconciling = False  # its reply was lost: it looks for its asset, as others may
        self.started = datetime.now(UTC)

    def resolve(self, rid: str) -> None:
        if self.rid is None:
            self.rid = rid
            self._entry.claimed.add(rid)
            self._entry.notify()

    def others_unresolved(self) -> bool:
        """Does another import of the same name, one that follows its job (not one looking for
        its asset, as this one may), not know its asset yet?"""
        return any(
            claim is not self and claim.rid is None and not claim.reconciling
            for claim in self._entry.claims
        )

    def claimed_by_others(self) -> frozenset[str]:
        return frozenset(self._entry.claimed - {self.rid} if self.rid else self._entry.claimed)


class ImportRegistry:
    """The imports of one client in flight, by file name, and the references whose import's
    outcome stayed unknown (``unsettled``: reference -> its job's status_id, when known), so that
    a later item of the same reference follows that job, or waits for its asset, rather than
    importing the file again."""

    __slots__ = ("_by_name", "unsettled")

    def __init__(self) -> None:
        self._by_name: dict[str, _Imports] = {}
        self.unsettled: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def claimed(self, name: str) -> frozenset[str]:
        """The rids that imports of ``name`` in flight know to be theirs."""
        entry = self._by_name.get(name)
        return frozenset(entry.claimed) if entry is not None else frozenset()

    def busy_since(self, name: str) -> datetime | None:
        """When the oldest import of ``name`` in flight that does not know its asset started:
        an untagged asset of that name stored since may be its own."""
        entry = self._by_name.get(name)
        if entry is None:
            return None
        return min((c.started for c in entry.claims if c.rid is None), default=None)

    async def settled(self, name: str) -> None:
        """Wait until every import of ``name`` in flight knows its asset (or has ended)."""
        while (entry := self._by_name.get(name)) is not None and any(
            claim.rid is None for claim in entry.claims
        ):
            if entry.changed is None:
                entry.changed = anyio.Event()
            await entry.changed.wait()

    @contextlib.contextmanager
    def track(self, name: str) -> Iterator[ImportClaim]:
        entry = self._by_name.setdefault(name, _Imports())
        claim = ImportClaim(entry)
        entry.claims.append(claim)
        try:
            yield claim
        finally:
            entry.claims.remove(claim)
            if claim.rid is not None:
                entry.claimed.discard(claim.rid)
            entry.notify()
            if not entry.claims and not entry.claimed:
                del self._by_name[name]
