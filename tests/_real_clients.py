"""What Cincopa's real clients build, re-implemented from the code REAL-CLIENTS.md quotes.

Independent of the SDK's own code on purpose (``cryptography``'s HKDF and padding, not
``cincopa_async.tokens``), so a test using these checks the SDK and the emulator against the
clients, not against themselves.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

__all__ = [
    "axios_query",
    "csharp_iso_string",
    "encode_uri_component",
    "js_to_iso_string",
    "php_urlencode",
    "php_v3_expiry",
    "v3_token",
]


def js_to_iso_string(moment: datetime) -> str:
    """JavaScript's ``Date.prototype.toISOString()``: milliseconds, 3 digits (S3)."""
    m = moment.astimezone(UTC)
    return m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}Z"


def csharp_iso_string(moment: datetime) -> str:
    """S1's ``toCSharpISOString``: ``iso.slice(0, -1) + '0000Z'`` (7 digits)."""
    return js_to_iso_string(moment)[:-1] + "0000Z"


def php_v3_expiry(moment: datetime) -> str:
    """S5's ``$utc->format('Y-m-d\\TH:i:s') . '.' . str_pad($micro, 7, '0') . 'Z'``, ``$micro``
    being PHP's ``format('u')`` (6 digits of microseconds), padded on the right."""
    m = moment.astimezone(UTC)
    return m.strftime("%Y-%m-%dT%H:%M:%S") + "." + f"{m.microsecond:06d}".ljust(7, "0") + "Z"


def v3_token(parent: str, payload: str) -> str:
    """``accid + 'i3' + last4(parent) + base64url(salt || iv || AES-256-CBC(HKDF(parent)))``,
    as S1's encrypter.js, S3's createTempTokenV3.js and S5's encrypter.php build it."""
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    salt, iv = os.urandom(16), os.urandom(16)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"").derive(parent.encode())
    padder = padding.PKCS7(128).padder()
    data = padder.update(payload.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    blob = salt + iv + encryptor.update(data) + encryptor.finalize()
    emsg = base64.urlsafe_b64encode(blob).decode().rstrip("=")
    return f"{parent.split('i', 1)[0]}i3{parent[-4:]}{emsg}"


_URI_UNRESERVED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
)


def encode_uri_component(text: str) -> str:
    """ECMA-262 ``encodeURIComponent``: each character outside the unreserved set becomes the
    percent-encoded bytes of its UTF-8 form (S4 and S7 send ``X-FILE-NAME`` so)."""
    return "".join(
        ch if ch in _URI_UNRESERVED else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in text
    )


def axios_query(params: dict[str, object]) -> str:
    """The query string axios builds from ``params`` (S8): keys in order, ``undefined``/``null``
    left out, values through encodeURIComponent and then ``%3A %24 %2C %20 %5B %5D`` turned
    back into ``: $ , + [ ]`` (axios's ``buildURL`` encode)."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        encoded = encode_uri_component(str(value))
        for code, char in (("%3A", ":"), ("%24", "$"), ("%2C", ","), ("%20", "+")):
            encoded = encoded.replace(code, char)
        encoded = encoded.replace("%5B", "[").replace("%5D", "]")
        parts.append(f"{encode_uri_component(key)}={encoded}")
    return "&".join(parts)


def php_urlencode(text: str) -> str:
    """PHP's ``urlencode``: ``A-Z a-z 0-9 - _ .`` kept, space as ``+``, the rest ``%XX``."""
    keep = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    return "".join(
        ch if ch in keep else "+" if ch == " " else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in text
    )
