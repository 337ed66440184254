"""Self-generated "v3" temporary tokens, made locally from a parent API token.

::

    from datetime import timedelta
    from cincopa_async.tokens import make_temp_token

    token = make_temp_token(
        parent_token, expires=timedelta(minutes=10), permissions=["asset.read"], fid=fid
    )
    # hand `token` to a browser; it is used like any api_token

**The format** (REFERENCE.md section 2.3 b; Cincopa's "temporary token v3" guide and the
identical PHP and JavaScript implementations in Cincopa's own plugins):

1. payload = expiry in UTC as ``YYYY-MM-DDTHH:MM:SS.fffffffZ`` (7 fractional digits, the form
   ``make_temp_token`` writes), then the optional restrictions, in this order, each as ``!`` +
   one letter + value: ``!p<permissions>`` (``|``-joined scopes), ``!r<rid>``, ``!f<fid>``,
   ``!d<rrid>`` (only in the PHP version), ``!i<source IPv4>``, ``!h<host>``;
2. key = HKDF-SHA256(input key material = the parent token's bytes, salt = 16 random bytes,
   info = empty, length = 32) (RFC 5869, computed here with the standard library);
3. ciphertext = AES-256-CBC(key, iv = 16 random bytes, PKCS#7 padding) over the UTF-8 payload;
4. blob = base64url without padding of ``salt || iv || ciphertext``;
5. token = ``<account id>`` + ``i3`` + ``<last 4 characters of the parent token>`` + blob, the
   account id being the parent token's digits before its first ``i``.

``parse_temp_token`` reads every form Cincopa's own generators write (REAL-CLIENTS.md): 7
fractional digits (Strapi S1's ``toCSharpISOString``, Moodle S5's ``str_pad($micro, 7, '0')``,
the C# form) and 3 (Shopify S3's JavaScript ``toISOString()``, used for every call of that app),
with any of the segments, Moodle's ``!d<rrid>`` included. Other fraction lengths are refused: no
real generator writes them (``_EXPIRY`` holds the accepted forms).

The token is built entirely on this machine: **the parent token is never sent anywhere** (only
its account id and last four characters appear in the result, as the format requires). Cincopa
verifies such a token on its side, as documented: it finds the parent by account id and last
four characters, re-derives the key, decrypts, and enforces the expiry and restrictions. The SDK
cannot check that the real service accepts a particular token; it implements the documented
format, reproduces the reference test vector, and the project's emulator verifies the tokens
the same way.

The format has no authentication tag (CBC without a MAC): a modified token is rejected only
when the change breaks the padding or the payload syntax, which is almost always, but not
guaranteed. Treat a v3 token like any bearer credential: short expiries, narrow permissions.

AES needs the ``cryptography`` package: ``pip install 'cincopa-async[tokens]'``. It is imported
only when a token is made or parsed, so ``import cincopa_async`` does not need it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from attrs import frozen

from ._errors import CincopaError, CincopaValidationError
from ._redact import KNOWN

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

__all__ = [
    "TempTokenClaims",
    "TempTokenError",
    "TokensExtraMissingError",
    "make_temp_token",
    "parse_temp_token",
]

_MAKE = "make_temp_token"
_PARSE = "parse_temp_token"
_EXTRA_HINT = (
    "v3 temporary tokens need the 'cryptography' package: pip install 'cincopa-async[tokens]'"
)
_BLOCK = 16
_SALT_LEN = 16
_IV_LEN = 16
_PARENT = re.compile(r"(\d+)i(\S{4,})")
_TOKEN = re.compile(r"(\d+)i3(.{4})([A-Za-z0-9_-]+)", re.DOTALL)
# 7 fractional digits (S1, S5: C#'s "o" format) or 3 (S3: JavaScript's toISOString)
_EXPIRY = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{7}|\d{3})Z")
# restriction codes in their documented order, with the claim each one fills
_CODES: tuple[tuple[str, str], ...] = (
    ("p", "permissions"),
    ("r", "rid"),
    ("f", "fid"),
    ("d", "rrid"),
    ("i", "source_ip"),
    ("h", "host"),
)


class TempTokenError(CincopaError, ValueError):
    """A v3 temporary token that cannot be decoded with the given parent token (malformed,
    tampered with, or made from another parent). Messages never contain either token."""

    def __init__(self, message: str) -> None:
        super().__init__(message, operation=_PARSE)


class TokensExtraMissingError(CincopaError, ImportError):
    """The optional ``cryptography`` dependency (the ``tokens`` extra) is not installed."""

    def __init__(self, operation: str) -> None:
        super().__init__(_EXTRA_HINT, operation=operation)


@frozen(kw_only=True)
class TempTokenClaims:
    """What a v3 temporary token says. ``permissions`` is ``None`` when the token carries no
    ``!p`` segment (the parent's permissions then apply -- assumed); the other restrictions are
    ``None`` when absent. ``expires`` is timezone-aware (UTC), truncated to microseconds."""

    expires: datetime
    permissions: tuple[str, ...] | None = None
    rid: str | None = None
    fid: str | None = None
    rrid: str | None = None
    source_ip: str | None = None
    host: str | None = None


# -- primitives -----------------------------------------------------------------------------------


def _aes_cbc(key: bytes, iv: bytes, operation: str) -> Cipher[modes.CBC]:
    """AES-256-CBC from ``cryptography``, imported on first use (the ``tokens`` extra)."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError as exc:
        raise TokensExtraMissingError(operation) from exc
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def _hkdf_sha256(ikm: bytes, salt: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256 and an empty ``info``."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _format_expiry(moment: datetime) -> str:
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond:06d}0Z"
    )


def _split_parent(parent_token: object, operation: str) -> tuple[str, str]:
    """(account id, last 4 characters) of a parent token; never echoes it."""
    if not isinstance(parent_token, str):
        raise CincopaValidationError(
            [f"parent_token: expected str, got {type(parent_token).__name__}"], operation=operation
        )
    match = _PARENT.fullmatch(parent_token)
    if match is None:
        raise CincopaValidationError(
            ["parent_token: does not look like an API token (<account id>i<characters>)"],
            operation=operation,
        )
    return match.group(1), parent_token[-4:]


# -- making -------------------------------------------------------------------------------------


def _has_control(text: str) -> bool:
    """Control characters (Cc) or lone surrogates (Cs, not encodable as UTF-8)."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def _check_value(name: str, value: object, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: expected str, got {type(value).__name__}")
        return None
    if not value:
        problems.append(f"{name}: must not be empty (pass None for no restriction)")
    elif "!" in value:
        problems.append(f"{name}: must not contain '!' (the segment separator)")
    elif _has_control(value):
        problems.append(f"{name}: must not contain control characters or lone surrogates")
    return value


def _check_permissions(value: object, problems: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # like the SDK's other permission arguments: already '|'-joined
        items: list[object] = list(value.split("|"))
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = list(value)
    else:
        problems.append(f"permissions: expected a sequence of str, got {type(value).__name__}")
        return None
    if not items:
        problems.append("permissions: must not be empty (pass None to keep the parent's)")
        return None
    before = len(problems)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            problems.append(f"permissions: item {index} is {type(item).__name__}, expected str")
        elif not item:
            problems.append(f"permissions: item {index} is empty")
        elif "|" in item or "!" in item:
            problems.append(f"permissions: item {index} contains '|' or '!'")
        elif _has_control(item) or any(ch.isspace() for ch in item):
            problems.append(f"permissions: item {index} contains whitespace or control characters")
    if len(problems) > before:
        return None
    return "|".join(str(item) for item in items)


def make_temp_token(
    parent_token: str,
    *,
    expires: datetime | timedelta,
    permissions: Sequence[str] | None = None,
    rid: str | None = None,
    fid: str | None = None,
    rrid: str | None = None,
    source_ip: str | None = None,
    host: str | None = None,
) -> str:
    """Build a v3 temporary token from ``parent_token`` locally (see the module docstring).

    Args:
        parent_token: a permanent API token of the account; it is never sent anywhere.
        expires: an aware ``datetime``, or a ``timedelta`` from now. A naive datetime is
            refused (ambiguous). A moment in the past gives an already expired token.
        permissions: scopes within the parent's (``["asset.read"]``), sent ``|``-joined; a
            ``str`` is taken as already ``|``-joined. ``None``: no ``!p`` segment.
        rid, fid: restrict the token to requests naming that asset / gallery.
        rrid: the ``!d`` restriction of Cincopa's PHP implementation (meaning undocumented).
        source_ip: the IPv4 address the token may be used from.
        host: the ``!h`` restriction (a host name, as documented).

    Raises:
        CincopaValidationError: bad arguments (every problem listed; no token is echoed).
        TokensExtraMissingError: ``cryptography`` is not installed (the ``tokens`` extra).
    """
    return _make_temp_token(
        parent_token,
        expires=expires,
        permissions=permissions,
        rid=rid,
        fid=fid,
        rrid=rrid,
        source_ip=source_ip,
        host=host,
    )


def _make_temp_token(
    parent_token: str,
    *,
    expires: datetime | timedelta,
    permissions: Sequence[str] | None = None,
    rid: str | None = None,
    fid: str | None = None,
    rrid: str | None = None,
    source_ip: str | None = None,
    host: str | None = None,
    _salt: bytes | None = None,
    _iv: bytes | None = None,
) -> str:
    """``make_temp_token`` with, for TESTS ONLY, a fixed 16-byte ``_salt`` and ``_iv`` (to
    reproduce a test vector). Never in real code: a reused salt/IV weakens every token made with it.
    """
    problems: list[str] = []
    account_id = last4 = stamp = ""
    try:
        account_id, last4 = _split_parent(parent_token, _MAKE)
    except CincopaValidationError as exc:
        problems.extend(exc.problems)
    moment: datetime | None = None
    if isinstance(expires, timedelta):
        moment = datetime.now(UTC) + expires
    elif isinstance(expires, datetime):
        if expires.tzinfo is None or expires.utcoffset() is None:
            problems.append("expires: a naive datetime is ambiguous; give it a tzinfo (e.g. UTC)")
        else:
            moment = expires
    else:
        problems.append(f"expires: expected datetime or timedelta, got {type(expires).__name__}")
    if moment is not None:
        try:
            stamp = _format_expiry(moment)
        except OverflowError:
            problems.append("expires: out of range")
    scopes = _check_permissions(permissions, problems)
    values = {
        "rid": _check_value("rid", rid, problems),
        "fid": _check_value("fid", fid, problems),
        "rrid": _check_value("rrid", rrid, problems),
        "source_ip": _check_value("source_ip", source_ip, problems),
        "host": _check_value("host", host, problems),
    }
    ip = values["source_ip"]
    if ip:
        try:
            values["source_ip"] = str(ipaddress.IPv4Address(ip))
        except ValueError:
            problems.append("source_ip: not an IPv4 address")
    fixed: tuple[tuple[str, object, int], ...] = (
        ("_salt", _salt, _SALT_LEN),
        ("_iv", _iv, _IV_LEN),
    )
    for name, given, length in fixed:
        if given is not None and (not isinstance(given, bytes) or len(given) != length):
            problems.append(f"{name}: must be {length} bytes")
    if problems:
        raise CincopaValidationError(problems, operation=_MAKE)
    values["permissions"] = scopes
    payload = stamp + "".join(
        f"!{code}{values[name]}" for code, name in _CODES if values[name] is not None
    )
    salt = _salt if _salt is not None else os.urandom(_SALT_LEN)
    iv = _iv if _iv is not None else os.urandom(_IV_LEN)
    key = _hkdf_sha256(parent_token.encode("utf-8"), salt)
    data = payload.encode("utf-8")
    pad = _BLOCK - len(data) % _BLOCK
    data += bytes([pad]) * pad
    encryptor = _aes_cbc(key, iv, _MAKE).encryptor()
    ciphertext: bytes = encryptor.update(data) + encryptor.finalize()
    token = f"{account_id}i3{last4}{_b64url(salt + iv + ciphertext)}"
    KNOWN.remember(parent_token, token)  # both scrubbed from the SDK's log records and errors
    return token


# -- parsing ------------------------------------------------------------------------------------

_BAD = "not a valid v3 temporary token for this parent token"


def _parse_payload(payload: str) -> TempTokenClaims:
    stamp, *segments = payload.split("!")
    match = _EXPIRY.fullmatch(stamp)
    if match is None:
        raise TempTokenError(_BAD)
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        expires = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(fraction.ljust(6, "0")[:6]),  # ".774" is 774,000 microseconds
            tzinfo=UTC,
        )
    except ValueError:
        raise TempTokenError(_BAD) from None
    fields: dict[str, Any] = {}
    position = 0
    order = [code for code, _ in _CODES]
    for segment in segments:
        code, value = segment[:1], segment[1:]
        if code not in order[position:] or not value:  # unknown, repeated or out of order
            raise TempTokenError(_BAD)
        position = order.index(code) + 1
        name = dict(_CODES)[code]
        if name == "permissions":
            scopes = tuple(value.split("|"))
            if not all(scopes):
                raise TempTokenError(_BAD)
            fields[name] = scopes
        else:
            fields[name] = value
    return TempTokenClaims(expires=expires, **fields)


def parse_temp_token(token: str, parent_token: str) -> TempTokenClaims:
    """Decrypt and check a v3 temporary token made from ``parent_token``.

    Checks the account id and last-four prefix, the blob's encoding and length, the padding, and
    the payload syntax; it does **not** check the expiry or the restrictions against a request
    (compare ``claims.expires`` with the current time yourself).

    Raises:
        TempTokenError: the token is malformed, was altered, or comes from another parent.
        CincopaValidationError: ``parent_token`` does not look like an API token.
        TokensExtraMissingError: ``cryptography`` is not installed (the ``tokens`` extra).
    """
    account_id, last4 = _split_parent(parent_token, _PARSE)
    if not isinstance(token, str):
        raise TempTokenError(f"token: expected str, got {type(token).__name__}")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise TempTokenError("not a v3 temporary token (<account id>i3<4 characters><base64url>)")
    if match.group(1) != account_id or not hmac.compare_digest(
        match.group(2).encode("utf-8"), last4.encode("utf-8")
    ):
        raise TempTokenError("the token was not made from this parent token")
    blob_text = match.group(3)
    if len(blob_text) % 4 == 1:
        raise TempTokenError(_BAD)
    try:
        blob = base64.urlsafe_b64decode(blob_text + "=" * (-len(blob_text) % 4))
    except (binascii.Error, ValueError):
        raise TempTokenError(_BAD) from None
    body = blob[_SALT_LEN + _IV_LEN :]
    if not body or len(body) % _BLOCK:
        raise TempTokenError(_BAD)
    salt, iv = blob[:_SALT_LEN], blob[_SALT_LEN : _SALT_LEN + _IV_LEN]
    key = _hkdf_sha256(parent_token.encode("utf-8"), salt)
    decryptor = _aes_cbc(key, iv, _PARSE).decryptor()
    data: bytes = decryptor.update(body) + decryptor.finalize()
    pad = data[-1]
    if not 1 <= pad <= _BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise TempTokenError(_BAD)
    try:
        payload = data[:-pad].decode("utf-8")
    except UnicodeDecodeError:
        raise TempTokenError(_BAD) from None
    return _parse_payload(payload)
