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

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

__all__ = [
    "REDACTED",
    "SECRET_QUERY_PARAMS",
    "install_log_redaction",
    "redact",
    "redact_url",
    "scrub",
    "scrub_json",
    "secret_forms",
]

REDACTED = "REDACTED"
SECRET_QUERY_PARAMS: tuple[str, ...] = ("api_token", "simple_user_add", "security_key", "hash")

# The name may follow a separator or its percent-encoded form (a URL quoted inside a URL). The
# value runs to the next plain separator: a "%26" inside it may be an encoded "&" of the secret
# itself (a password), so it is redacted too, at the cost of the rest of a quoted URL.
_SECRET_PARAM_RE = re.compile(
    r"(?i)((?:^|[?&;\s\"'(,]|%3F|%26)(?:"
    + "|".join(SECRET_QUERY_PARAMS)
    + r")(?:=|%3D))[^&\s\"'#)<>]*"
)


def redact(text: str) -> str:
    """Replace the value of every secret query parameter in ``text`` by ``REDACTED``."""
    return _SECRET_PARAM_RE.sub(r"\1" + REDACTED, text)


def redact_url(url: httpx.URL | str) -> str:
    """The URL as text, with secret query parameters redacted."""
    return redact(str(url))


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as it may appear in text: plain, percent-encoded, form-encoded, JSON-escaped.

    Longest first, so that a form containing another is replaced whole.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update(
                (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1])
            )
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``redact(text)``, and every occurrence of each known secret value (in any of the forms of
    ``secret_forms``) replaced too."""
    for form in secret_forms(secrets):  # before redact(), which may cut a secret in two
        text = text.replace(form, REDACTED)
    return redact(text)


def scrub_json(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like value (a decoded reply) with every secret scrubbed from its strings.

    For the payloads that errors keep: a server may echo a request's token or password in a
    reply. Returns ``value`` itself when there is nothing to scrub.
    """
    text = json.dumps(value, ensure_ascii=False)
    scrubbed = scrub(text, secrets)
    if scrubbed == text:
        return value
    try:
        return json.loads(scrubbed)
    except ValueError:  # a secret that looked like JSON syntax: keep the scrubbed text
        return scrubbed


class _RedactingFilter(logging.Filter):
    """Rewrites a record so that no secret query parameter survives in its message, its
    traceback text or its stack text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: format the traceback once, redacted.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = _RedactingFilter("cincopa_async")

# Filters on a logger see only the records logged on that very logger, not those of its
# children, so each logger that may carry a URL is named. aiohttp's and asyncio's loggers can
# print an exception whose text quotes a request URL (a task nobody awaited, say).
_LOGGERS = (
    "cincopa_async",
    "cincopa_async.webhooks",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "asyncio",
)


def install_log_redaction() -> None:
    """Attach the redacting filter to the loggers that may log request URLs (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
