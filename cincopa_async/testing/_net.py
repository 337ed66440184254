"""Small URL helpers shared by the emulator modules."""

from __future__ import annotations

from urllib.parse import urlsplit

from cincopa_async._client import is_loopback_host

__all__ = ["INPROCESS_HOST", "is_loopback_host", "is_loopback_url"]

#: Host name of the in-process emulator (``http://cincopa.localhost/v2/``); never resolved.
INPROCESS_HOST = "cincopa.localhost"


def is_loopback_url(url: str) -> bool:
    """An ``http(s)`` URL whose host is a loopback host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return is_loopback_host(parts.hostname)
