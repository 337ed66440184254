"""Small URL helpers shared by the emulator modules."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["INPROCESS_HOST", "is_loopback_host", "is_loopback_url"]

#: Host name of the in-process emulator (``http://cincopa.localhost/v2/``); never resolved.
INPROCESS_HOST = "cincopa.localhost"


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost``, ``127.0.0.0/8`` and ``::1``."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """An ``http(s)`` URL whose host is a loopback host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return is_loopback_host(parts.hostname)
