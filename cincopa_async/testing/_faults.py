"""Fault injection: deterministic under a seed, per operation or for all, changeable at any time.

``emu.faults.add(kind, rate=1.0, operations=None, *, times=None, **opts)`` returns a ``Fault``
handle (``.remove()``, usable as a context manager, ``.hits`` counts the requests it hit).
Each fault draws from its own generator seeded with ``(seed, fault number)``, so the same seed
and the same sequence of requests give the same faults, and adding a fault does not change the
draws of the others. ``operations`` names wire operations (``"asset.list"``) or ``"upload"`` for
the upload host; ``None`` means every operation *and* the upload host.

Kinds and their observable effect (whether the server applied the change first):

* ``server_error`` (``status=`` 500, 502 or 503; default: drawn among the three): HTTP 5xx with a
  JSON ``success: false`` body. Not applied.
* ``rate_limit`` (``retry_after=1``): HTTP 429 with ``Retry-After`` (seconds, or a str sent as
  it is: an HTTP date, ``inf``, garbage). Not applied.
* ``latency`` (``seconds=0.05``): the reply is delayed; combines with any other kind.
* ``drop_before``: the connection is dropped before the request is handled. Not applied.
* ``drop_after``: the request is handled (the change IS applied), then the connection is dropped
  without a reply -- the hard case for retries.
* ``malformed_body``: HTTP 200 with an HTML body that is not JSON. Applied.
* ``truncated_body``: HTTP 200 with the JSON body cut in half. Applied.
* ``wrong_shape``: HTTP 200 with valid JSON of the wrong shape (a JSON array). Applied.
* ``stall`` (``seconds=3600``): no reply for ``seconds``; if the client gives up first (its read
  timeout fires, or it hangs up) nothing is applied and nothing is sent; if it is still waiting
  afterwards the request is handled normally (a slow reply).
* ``upload_chunk_failure`` (``status=500``): an upload-host POST fails with that status and a
  text reply containing ``error``; the chunk is not stored. Only affects the upload host.

In-process, drops surface as ``httpx.RemoteProtocolError`` and stalls as ``httpx.ReadTimeout``
(see ``EmulatorTransport``); on a real port a drop closes the socket without a reply.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Literal, Self

__all__ = ["Fault", "FaultKind", "FaultKindName", "FaultPlan", "Faults"]


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    LATENCY = "latency"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    MALFORMED_BODY = "malformed_body"
    TRUNCATED_BODY = "truncated_body"
    WRONG_SHAPE = "wrong_shape"
    STALL = "stall"
    UPLOAD_CHUNK_FAILURE = "upload_chunk_failure"


FaultKindName = Literal[
    "server_error",
    "rate_limit",
    "latency",
    "drop_before",
    "drop_after",
    "malformed_body",
    "truncated_body",
    "wrong_shape",
    "stall",
    "upload_chunk_failure",
]

_DEFAULT_SECONDS = {FaultKind.LATENCY: 0.05, FaultKind.STALL: 3600.0}


class Fault:
    """A registered fault. Remove it with ``.remove()`` or use it as a context manager."""

    def __init__(
        self,
        owner: Faults,
        number: int,
        kind: FaultKind,
        rate: float,
        operations: frozenset[str] | None,
        times: int | None,
        status: int | None,
        retry_after: float | str,
        seconds: float,
    ) -> None:
        self._owner = owner
        self.number = number
        self.kind = kind
        self.rate = rate
        self.operations = operations
        self.times = times
        self.status = status
        self.retry_after = retry_after
        self.seconds = seconds
        self.hits = 0
        self._rng = random.Random()

    def __repr__(self) -> str:
        ops = "all" if self.operations is None else ",".join(sorted(self.operations))
        return (
            f"<Fault #{self.number} {self.kind.value} rate={self.rate} ops={ops} hits={self.hits}>"
        )

    def reseed(self, seed: int) -> None:
        self._rng.seed(f"{seed}:{self.number}")

    def matches(self, operation: str) -> bool:
        if self.operations is None:
            return True
        return operation in self.operations

    def roll(self) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.rate >= 1.0:
            hit = True
        elif self.rate <= 0.0:
            hit = False
        else:
            hit = self._rng.random() < self.rate
        if hit:
            self.hits += 1
        return hit

    def pick_status(self) -> int:
        if self.status is not None:
            return self.status
        return self._rng.choice((500, 502, 503))

    def remove(self) -> None:
        self._owner.remove(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


@dataclass(slots=True)
class FaultPlan:
    """What to do to one request: a delay, then at most one terminal fault."""

    latency: float = 0.0
    fault: Fault | None = None

    @property
    def kind(self) -> FaultKind | None:
        return None if self.fault is None else self.fault.kind


class Faults:
    """The fault registry of one emulator (``emu.faults``). Thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._faults: list[Fault] = []
        self._counter = 0

    def __repr__(self) -> str:
        return f"<Faults seed={self._seed} active={self._faults!r}>"

    def __bool__(self) -> bool:
        return bool(self._faults)

    @property
    def active(self) -> tuple[Fault, ...]:
        return tuple(self._faults)

    def add(
        self,
        kind: FaultKind | FaultKindName,
        rate: float = 1.0,
        operations: Iterable[str] | str | None = None,
        *,
        times: int | None = None,
        status: int | None = None,
        retry_after: float | str = 1,
        seconds: float | None = None,
    ) -> Fault:
        """Register a fault; see the module docstring for the kinds and their options."""
        fault_kind = FaultKind(kind)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if fault_kind is FaultKind.SERVER_ERROR and status is not None and not 500 <= status < 600:
            raise ValueError("server_error status must be 5xx")
        ops: frozenset[str] | None
        if operations is None:
            ops = None
        elif isinstance(operations, str):
            ops = frozenset({operations})
        else:
            ops = frozenset(operations)
        if fault_kind is FaultKind.UPLOAD_CHUNK_FAILURE:
            ops = frozenset({"upload"})
            status = 500 if status is None else status
        with self._lock:
            fault = Fault(
                self,
                self._counter,
                fault_kind,
                rate,
                ops,
                times,
                status,
                retry_after,
                _DEFAULT_SECONDS.get(fault_kind, 0.0) if seconds is None else seconds,
            )
            self._counter += 1
            fault.reseed(self._seed)
            self._faults = [*self._faults, fault]
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults = []

    def seed(self, seed: int) -> None:
        """Reseed: every fault (present and future) restarts its draws from ``seed``."""
        with self._lock:
            self._seed = seed
            for fault in self._faults:
                fault.reseed(seed)

    def plan(self, operation: str) -> FaultPlan | None:
        """Roll the dice for one request to ``operation``; ``None`` when nothing applies."""
        faults = self._faults
        if not faults:
            return None
        plan = FaultPlan()
        with self._lock:
            for fault in faults:
                if not fault.matches(operation):
                    continue
                if fault.kind is FaultKind.LATENCY:
                    if fault.roll():
                        plan.latency += fault.seconds
                elif plan.fault is None and fault.roll():
                    plan.fault = fault
        if plan.fault is None and not plan.latency:
            return None
        return plan
