"""In-memory state of the emulator: accounts, tokens, assets, galleries, portals, webhooks, jobs.

Everything is guarded by one re-entrant lock (``EmulatorState.lock``): request handlers are
synchronous and run entirely under it, so the state is safe to read and change from a test
while ``serve()`` answers requests on its own thread. Take ``with emu.state.lock:`` around a
multi-step read if a server thread may be changing the state at the same time.

Assumptions (all *assumed*):

* ids: asset ``rid`` and gallery ``fid`` are 12 characters of ``[A-Za-z0-9_]``, the numeric
  asset ``id`` counts up from 196481794, account ids are 7 digits; all drawn from a generator
  seeded by ``CincopaEmulator(seed=...)`` so a run is reproducible;
* tokens look like the real ones: ``<account id>i<27 lowercase letters/digits>``, temporary
  tokens from ``token.get_temp`` ``<account id>i2<26 ...>``;
* dates are ISO 8601 UTC with a ``Z`` suffix, second precision.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Account",
    "Asset",
    "Attachment",
    "EmulatorState",
    "Gallery",
    "ImportJob",
    "LiveStream",
    "Portal",
    "TokenRecord",
    "UploadSession",
    "UploadTicket",
    "Webhook",
    "iso",
]

_RID_ALPHABET = string.ascii_letters + string.digits + "_"
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def iso(ts: float) -> str:
    """Format a POSIX timestamp as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(slots=True, eq=False)
class TokenRecord:
    """An API token. ``value`` is the secret itself and never appears in ``repr``."""

    value: str = field(repr=False)
    uid: str
    permissions: frozenset[str]
    permissions_text: str
    name: str
    temp: bool = False
    expires: float | None = None
    sourceip: str | None = None
    fid: str | None = None
    rid: str | None = None
    host: str | None = None
    created: float = 0.0


@dataclass(slots=True, eq=False)
class Attachment:
    """A file attached to an asset (``type=thumb``, ``subtitle-en-us`` ...)."""

    name: str
    filename: str
    filesize: int
    content: bytes = field(default=b"", repr=False)


@dataclass(slots=True, eq=False)
class Asset:
    rid: str
    id: str
    type: str
    filename: str
    uploaded: float
    modified: float
    uploaded_by: str
    filesize: int
    seq: int
    caption: str = ""
    description: str = ""
    long_description: str = ""
    related_link_text: str = ""
    related_link_url: str = ""
    reference_id: str = ""
    tags: list[str] = field(default_factory=list)
    syncstatus: str = "synced"
    content: bytes | None = field(default=None, repr=False)
    attachments: dict[str, Attachment] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Gallery:
    fid: str
    name: str
    created: float
    modified: float
    upload_ticket: str
    seq: int
    description: str = ""
    tags: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    is_master: bool = False
    master: str | None = None
    template: str = ""
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Portal:
    subdomain: str
    owner: str
    created: float
    modified: float
    template: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    allow_public: str = "yes"
    cincopa_login: str = "no"
    cincopa_login_registration: str = "off"
    cincopa_login_users: list[str] = field(default_factory=list)
    cincopa_login_domains: list[str] = field(default_factory=list)
    google_openid_users: list[str] = field(default_factory=list)
    google_openid_domains: list[str] = field(default_factory=list)
    simple_users: dict[str, str] = field(default_factory=dict, repr=False)
    cname_domain: str = ""


@dataclass(slots=True, eq=False)
class Webhook:
    hook_url: str
    events: tuple[str, ...]
    kind: str
    created: float
    security_key: str | None = field(default=None, repr=False)

    def wants(self, event: str) -> bool:
        """Whether ``event`` matches one of the registered names, ``ns.*`` or ``*``."""
        namespace = event.partition(".")[0]
        for pattern in self.events:
            if pattern in (event, "*", f"{namespace}.*"):
                return True
            if namespace == "lead" and pattern == "leads.*":
                return True
        return False


@dataclass(slots=True, eq=False)
class ImportJob:
    status_id: str
    uid: str
    input: str
    created: float
    fid: str | None = None
    rid: str | None = None
    attach_type: str | None = None
    status: str = "inprogress"
    progress_bytes: int = 0
    file_size_bytes: int = -1
    resid: str = ""
    more: str = ""
    debug: str = ""
    cancel: Callable[[], None] | None = field(default=None, repr=False)


@dataclass(slots=True, eq=False)
class LiveStream:
    id: str
    name: str
    description: str
    created: float
    status: str = "idle"
    stream_key: str = field(default="", repr=False)


@dataclass(slots=True, eq=False)
class UploadTicket:
    """What an upload URL's opaque ``d`` stands for."""

    d: str
    uid: str
    fid: str | None
    rid: str | None
    attach_type: str | None
    expires: float | None
    sourceip: str | None


@dataclass(slots=True, eq=False)
class UploadSession:
    """A (possibly chunked) upload in progress, keyed by ticket, file name and ``unique-id``.

    ``received_ranges()`` tells which byte ranges arrived (end exclusive), so resuming an
    interrupted upload can be tested. ``total`` is None while a streaming upload has not yet
    sent its last chunk (the only one carrying ``/<total>``: REAL-CLIENTS.md S7).
    """

    ticket: str
    filename: str
    unique_id: str
    total: int | None
    created: float
    chunks: dict[int, bytes] = field(default_factory=dict, repr=False)
    complete: bool = False
    rid: str | None = None
    chunk_requests: int = 0

    def received_ranges(self) -> list[tuple[int, int]]:
        """Merged ``(start, end_exclusive)`` ranges received so far."""
        merged: list[tuple[int, int]] = []
        for start in sorted(self.chunks):
            end = start + len(self.chunks[start])
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    def missing_ranges(self) -> list[tuple[int, int]]:
        """Byte ranges still missing, ``(start, end_exclusive)``; while ``total`` is unknown,
        only the gaps before the last byte received."""
        missing: list[tuple[int, int]] = []
        position = 0
        for start, end in self.received_ranges():
            if start > position:
                missing.append((position, start))
            position = max(position, end)
        if self.total is not None and position < self.total:
            missing.append((position, self.total))
        return missing

    def received_bytes(self) -> int:
        return sum(end - start for start, end in self.received_ranges())

    def is_complete(self) -> bool:
        """Every byte of a known ``total`` arrived."""
        return self.total is not None and not self.missing_ranges()

    def assemble(self) -> bytes:
        assert self.total is not None, "a streaming upload is assembled once its total is known"
        buffer = bytearray(self.total)
        for start in sorted(self.chunks):
            chunk = self.chunks[start]
            buffer[start : start + len(chunk)] = chunk
        return bytes(buffer)


@dataclass(slots=True, eq=False)
class Account:
    uid: str
    name: str
    email: str
    parent: str | None = None
    assets: dict[str, Asset] = field(default_factory=dict)
    galleries: dict[str, Gallery] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    imports: dict[str, ImportJob] = field(default_factory=dict)
    live: dict[str, LiveStream] = field(default_factory=dict)
    sub_accounts: list[str] = field(default_factory=list)


Outbox = list[tuple[str, str, str, dict[str, Any]]]


class EmulatorState:
    """All emulator state. Read it freely in tests; see the module docstring about the lock."""

    def __init__(self, seed: int, clock: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self.secret = bytes(self._rng.getrandbits(8) for _ in range(32))
        self._clock = clock
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.portals: dict[str, Portal] = {}
        self.upload_tickets: dict[str, UploadTicket] = {}
        self.upload_sessions: dict[tuple[str, str, str], UploadSession] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        # (kind, uid, name, payload): kind "event" (webhook) or "import" (name = status_id)
        self.outbox: Outbox = []
        self._seq = 0
        self._asset_id = 196481794
        self.main = self.new_account("Main account", parent=None)

    def __repr__(self) -> str:
        return (
            f"<EmulatorState accounts={len(self.accounts)} tokens={len(self.tokens)} "
            f"portals={len(self.portals)}>"
        )

    # -- clock & ids ---------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def next_asset_id(self) -> str:
        self._asset_id += 1
        return str(self._asset_id)

    def random_id(self, length: int = 12, alphabet: str = _RID_ALPHABET) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def new_uid(self) -> str:
        while True:
            uid = str(self._rng.randint(1_000_000, 9_999_999))
            if uid not in self.accounts:
                return uid

    def sign(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    # -- accounts & tokens ---------------------------------------------------------------------

    def new_account(self, name: str, parent: str | None) -> Account:
        uid = self.new_uid()
        account = Account(uid=uid, name=name, email=f"owner+{uid}@example.com", parent=parent)
        self.accounts[uid] = account
        if parent is not None:
            self.accounts[parent].sub_accounts.append(uid)
        return account

    def new_token(
        self,
        uid: str,
        permissions: str,
        *,
        name: str = "emulator",
        temp: bool = False,
        expires: float | None = None,
        sourceip: str | None = None,
        fid: str | None = None,
        rid: str | None = None,
        host: str | None = None,
    ) -> TokenRecord:
        scopes = frozenset(s for s in permissions.split("|") if s)
        while True:
            body = self.random_id(26 if temp else 27, _TOKEN_ALPHABET)
            value = f"{uid}i2{body}" if temp else f"{uid}i{body}"
            if value not in self.tokens:
                break
        record = TokenRecord(
            value=value,
            uid=uid,
            permissions=scopes,
            permissions_text="|".join(s for s in permissions.split("|") if s),
            name=name,
            temp=temp,
            expires=expires,
            sourceip=sourceip,
            fid=fid,
            rid=rid,
            host=host,
            created=self.now(),
        )
        self.tokens[value] = record
        return record

    # -- outbox --------------------------------------------------------------------------------

    def emit(self, uid: str, event: str, payload: dict[str, Any]) -> None:
        """Queue a webhook event; delivered after the current request releases the lock."""
        self.outbox.append(("event", uid, event, payload))

    def drain(self) -> Outbox:
        items, self.outbox = self.outbox, []
        return items

    # -- uploads -------------------------------------------------------------------------------

    def new_upload_ticket(
        self,
        uid: str,
        *,
        fid: str | None = None,
        rid: str | None = None,
        attach_type: str | None = None,
        ttl: float | None = None,
        sourceip: str | None = None,
    ) -> UploadTicket:
        d = self.random_id(24, string.ascii_letters + string.digits)
        expires = None if ttl is None else self.now() + ttl
        ticket = UploadTicket(d, uid, fid, rid, attach_type, expires, sourceip)
        self.upload_tickets[d] = ticket
        return ticket

    def upload_url(self, base: str, ticket: UploadTicket) -> str:
        addtofid = ticket.fid or "0"
        return (
            f"{base}/upload/post.jpg?uid={ticket.uid}&d={ticket.d}"
            f"&hash={self.sign(ticket.uid, ticket.d)}&addtofid={addtofid}"
        )
