"""The fake media upload host (REFERENCE.md 7): ``POST /upload/post.jpg?uid&d&hash&addtofid``.

Accepted bodies, each as a real client sends it (S-numbers of REAL-CLIENTS.md):

* a ``multipart/form-data`` form with one file part (single shot; REFERENCE.md 7.1 assumes it);
* raw bytes with ``X-File-Name`` (URL-encoded: ``encodeURIComponent`` in S4 and S7), optionally
  ``Content-Range: bytes <start>-<end exclusive>/<total>`` and ``unique-id``, the framing of
  Cincopa's uploader ``cpUploadAPI`` (S4): ``Content-Type: multipart/form-data`` *without a
  boundary* and the raw bytes as the body, a range on every chunk (a one-shot upload sends
  ``bytes 0-N/N``), ``unique-id`` = ``Date.now()``. A POST without ``Content-Range`` is a whole
  file (REFERENCE.md 11.10 assumes the header optional). Chunks may arrive in any order (the
  docs' claim; every real client sends them in order) and are assembled by (upload URL, file
  name, ``unique-id``) once every byte of ``total`` arrived;
* streaming chunks: ``Content-Range: bytes <start>-<end exclusive>`` with **no total** on every
  chunk but the last, which carries ``/<total>``, with or without ``unique-id`` (S7, Cincopa's
  recorder, whose file grows while it records and which sends no ``unique-id``; S4's
  ``tempChunk`` mode). Such a session has no total until its last chunk, and completes when
  that chunk arrived and no byte before it is missing.

Replies are the plain-text lines of the real host (``authentication ok`` / ``chunk done.`` for an
intermediate chunk -- S7 requires ``done`` in it; the 7 lines ending ``new resource id <id>
<rid>`` / ``done.`` when the file is complete, the resource line being line 5, whose word 3
Moodle's grader reads as the numeric id, S5). Failures are HTTP 200 with a text line starting
``error:`` (assumed; S4 only tests for ``error``): bad or unknown ``hash``/``d``/``uid``, an
expired URL, a source IP other than the one the URL was issued for, an unknown ``addtofid``
gallery, a missing file name, a malformed or inconsistent ``Content-Range`` (start >= end, end >
total, length != end - start, total differing from earlier chunks or below bytes already
received). ``addtofid`` is not covered by the hash: S7 rewrites ``addtofid=0`` into the gallery
it records for, S5 ``&addtofid=*`` into ``&addtofid=``; ``0`` and empty mean no gallery. A chunk
re-posted at the same start replaces the earlier one. A chunk arriving after its session
completed starts a new upload.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from urllib.parse import unquote

from ._handlers import attach_file, create_asset
from ._state import EmulatorState, UploadSession

__all__ = ["UploadOutcome", "intermediate_reply", "parse_multipart", "process_upload"]

_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)(?:/(\d+))?\s*$")
_FILENAME = re.compile(r'filename\*?=(?:"((?:[^"\\]|\\.)*)"|([^;]+))', re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)

INTERMEDIATE = "authentication ok\nchunk done.\n"


def intermediate_reply() -> str:
    return INTERMEDIATE


def final_reply(asset_id: str, rid: str) -> str:
    return (
        "authentication ok\nfile received ok\nreading metadata ok\nfile stored ok\n"
        f"creating resource ok\nnew resource id {asset_id} {rid}\ndone.\n"
    )


@dataclass(slots=True)
class UploadOutcome:
    status: int
    text: str
    chunk: tuple[int, int, int | None] | None = None
    session: tuple[str, str, str] | None = None


def parse_multipart(body: bytes, content_type: str) -> tuple[str, bytes] | None:
    """The first part with a ``filename`` of a multipart body, as ``(filename, content)``."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        return None
    boundary = (match.group(1) or match.group(2)).encode("latin-1")
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() != "content-disposition":
                continue
            found = _FILENAME.search(value)
            if found:
                raw = found.group(1) if found.group(1) is not None else found.group(2).strip()
                if raw.lower().startswith("utf-8''"):
                    raw = unquote(raw[7:])
                filename = raw.replace('\\"', '"')
                return filename or "upload", content
    return None


def process_upload(
    state: EmulatorState,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    client_ip: str,
    base: str,
) -> UploadOutcome:
    """Handle one upload-host POST. Call with ``state.lock`` held."""
    uid, d, signature = query.get("uid", ""), query.get("d", ""), query.get("hash", "")
    ticket = state.upload_tickets.get(d)
    if (
        ticket is None
        or ticket.uid != uid
        or not hmac.compare_digest(signature.encode(), state.sign(uid, d).encode())
    ):
        return UploadOutcome(200, "error: invalid upload url (authentication failed)\n")
    if ticket.expires is not None and state.now() >= ticket.expires:
        return UploadOutcome(200, "error: upload url expired\n")
    if ticket.sourceip is not None and client_ip != ticket.sourceip:
        return UploadOutcome(200, "error: source ip not allowed\n")
    account = state.accounts.get(uid)
    if account is None:
        return UploadOutcome(200, "error: unknown account\n")
    addtofid = query.get("addtofid", "0")
    fid = None if addtofid in ("", "0") else addtofid
    if fid is not None and fid not in account.galleries:
        return UploadOutcome(200, f"error: unknown gallery {fid}\n")
    if ticket.rid is not None and ticket.rid not in account.assets:
        return UploadOutcome(200, f"error: asset not found {ticket.rid}\n")

    def finish(filename: str, content: bytes) -> tuple[str, str]:
        if ticket.rid is not None:
            asset = account.assets[ticket.rid]
            attach_file(
                state, account, asset, ticket.attach_type or "attachment", filename, content, base
            )
        else:
            asset = create_asset(state, account, filename, content, fid=fid, base=base)
        return asset.id, asset.rid

    content_type = headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data") and "boundary=" in content_type:
        parsed = parse_multipart(body, content_type)
        if parsed is None:
            return UploadOutcome(200, "error: no file part in the form\n")
        asset_id, rid = finish(*parsed)
        return UploadOutcome(200, final_reply(asset_id, rid))

    filename = unquote(headers.get("x-file-name", "")).strip()
    if not filename:
        return UploadOutcome(200, "error: missing X-File-Name header\n")
    content_range = headers.get("content-range")
    if content_range is None:
        asset_id, rid = finish(filename, body)
        return UploadOutcome(200, final_reply(asset_id, rid))

    match = _RANGE.match(content_range)
    if match is None:
        return UploadOutcome(200, "error: bad content-range\n")
    start, end = int(match.group(1)), int(match.group(2))
    total = int(match.group(3)) if match.group(3) is not None else None  # None: streaming (S7)
    chunk = (start, end, total)
    if not start < end or (total is not None and end > total) or end - start != len(body):
        return UploadOutcome(200, "error: bad content-range\n", chunk)
    unique_id = headers.get("unique-id", "")
    key = (d, filename, unique_id)
    session = state.upload_sessions.get(key)
    if session is None or session.complete:
        session = UploadSession(d, filename, unique_id, total, state.now())
        state.upload_sessions[key] = session
    elif total is not None and session.total is None:  # a streaming upload's last chunk
        received = session.received_ranges()
        if received and received[-1][1] > total:
            return UploadOutcome(
                200, "error: bad content-range (total below bytes received)\n", chunk, key
            )
        session.total = total
    elif total is not None and session.total != total:
        return UploadOutcome(200, "error: bad content-range (total changed)\n", chunk, key)
    elif session.total is not None and end > session.total:
        return UploadOutcome(200, "error: bad content-range (beyond the total)\n", chunk, key)
    session.chunk_requests += 1
    session.chunks[start] = body
    if not session.is_complete():
        return UploadOutcome(200, INTERMEDIATE, chunk, key)
    asset_id, rid = finish(filename, session.assemble())
    session.complete = True
    session.rid = rid
    return UploadOutcome(200, final_reply(asset_id, rid), chunk, key)
