"""Keeping secrets out of everything the SDK prints, logs or raises.

The Cincopa API takes its token in the query string (``api_token=...``), so every request URL is a
secret. Two defences work together:

* pattern redaction: the value of every secret query parameter (``api_token``,
  ``simple_user_add``, ``security_key``, and the ``hash`` that makes an upload URL
  self-authorising) is replaced by ``REDACTED`` in any text, whatever the token is; this also
  covers URLs that httpx and httpcore put in their log records;
* value scrubbing: the client also knows its own token and scrubs it from error messages that
  quote it in other forms (a server message echoing it, say).

``install_log_redaction()`` puts a filter on the ``httpx`` and ``httpcore`` loggers, which
otherwise log the full request URL at INFO level.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import httpx

__all__ = [
    "REDACTED",
    "SECRET_QUERY_PARAMS",
    "install_log_redaction",
    "redact",
    "redact_url",
    "scrub",
]

REDACTED = "REDACTED"
SECRET_QUERY_PARAMS: tuple[str, ...] = ("api_token", "simple_user_add", "security_key", "hash")

# The name may follow a separator or its percent-encoded form (a URL quoted inside a URL); the
# value runs to the next separator, again plain or percent-encoded.
_SECRET_PARAM_RE = re.compile(
    r"(?i)((?:^|[?&;\s\"'(,]|%3F|%26)(?:"
    + "|".join(SECRET_QUERY_PARAMS)
    + r")(?:=|%3D))(?:(?!%26)[^&\s\"'#)<>])*"
)


def redact(text: str) -> str:
    """Replace the value of every secret query parameter in ``text`` by ``REDACTED``."""
    return _SECRET_PARAM_RE.sub(r"\1" + REDACTED, text)


def redact_url(url: httpx.URL | str) -> str:
    """The URL as text, with secret query parameters redacted."""
    return redact(str(url))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``redact(text)``, and every occurrence of each known secret value replaced too."""
    text = redact(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    """Rewrites a record's message so that no secret query parameter survives in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_FILTER = _RedactingFilter("cincopa_async")


def install_log_redaction() -> None:
    """Attach the redacting filter to the loggers that log request URLs (idempotent)."""
    for name in ("httpx", "httpcore", "cincopa_async"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
