"""The exception tree of cincopa-async.

::

    CincopaError                      every error the SDK raises on purpose
    ├── CincopaValidationError        bad arguments, raised before anything is sent (a ValueError)
    ├── APIConnectionError            no HTTP reply (.request_sent: may it have reached the server?)
    │   └── APITimeoutError           ... because a timeout expired
    ├── APIStatusError                an HTTP error status (.status_code, .retry_after)
    │   ├── AuthenticationError       401 / 403: unknown, expired or under-privileged token
    │   ├── NotFoundError             404
    │   ├── RateLimitError            429 (.retry_after, in seconds, when the server said)
    │   └── ServerError               5xx
    ├── APIResponseError              HTTP 200 with "success": false (.message from the server)
    │   └── QuotaExceededError        the upload host says the account is out of assets quota
    ├── ResponseDecodeError           the body is not JSON
    ├── ResponseValidationError       JSON of the wrong shape (.errors lists each field path)
    ├── OutcomeUnknownError           a request may have changed something, and no look-up can
    │   │                             tell what: it is not sent again (that could duplicate)
    │   ├── UploadOutcomeUnknownError     ... the POST that completes a file
    │   └── ImportOutcomeUnknownError     ... asset.upload_from_url, or its job
    ├── ReferenceConflictError        a reference_id already names an asset of another size
    └── UploadSourceError             the file could not be read, or changed while uploading

Every error carries ``.operation`` (``"asset.list"``) and ``.url``, the request URL with its
secrets redacted (``None`` only where no URL applies).

No secret in an error: ``CincopaError`` scrubs its message and every attribute set on it (a
payload, a body excerpt, the field paths of a validation error, a model) with ``_redact``,
against every secret value the SDK knows (``_redact.KNOWN``: clients' tokens, secret arguments
sent, upload hashes and tokens handed out), in any encoding, and redacts secret query
parameters. Where an error is made, the SDK also scrubs what it takes from a reply with the
request's own secrets, before cutting it short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._redact import scrub, scrub_value

__all__ = [
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "CincopaError",
    "CincopaValidationError",
    "NotFoundError",
    "ImportOutcomeUnknownError",
    "OutcomeUnknownError",
    "QuotaExceededError",
    "ReferenceConflictError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseValidationError",
    "ServerError",
    "UploadOutcomeUnknownError",
    "UploadSourceError",
]


class CincopaError(Exception):
    """Base class of every error the SDK raises on purpose.

    Its message and every attribute set on it are scrubbed of secrets (see the module
    docstring), whoever made it; the chain (``__cause__``, ``__context__``) is the raiser's to
    keep clean: the SDK raises outside the handlers of foreign exceptions, or chains to a
    scrubbed copy.
    """

    operation: str
    url: str | None

    def __init__(self, message: str, *, operation: str, url: str | None = None) -> None:
        message = scrub(str(message))
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.url = url

    def __setattr__(self, name: str, value: Any) -> None:
        # Dunder attributes (``__notes__``, ``__cause__`` ...) are the interpreter's: kept as
        # given (``add_note`` appends to the very list it set).
        if not name.startswith("__"):
            value = scrub_value(value)
        super().__setattr__(name, value)

    def __str__(self) -> str:
        return str(self.args[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, operation={self.operation!r})"


class CincopaValidationError(CincopaError, ValueError):
    """Arguments that cannot be sent; ``.problems`` lists every one, nothing was sent."""

    def __init__(self, problems: Sequence[str], *, operation: str, url: str | None = None) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        summary = f"{operation}: {count} invalid argument{'s' if count != 1 else ''}"
        super().__init__(
            "\n  ".join([summary, *self.problems]),
            operation=operation,
            url=url,
        )


class APIConnectionError(CincopaError):
    """The request got no HTTP reply (connection refused or dropped, DNS, TLS ...).

    ``request_sent`` is False when the request certainly never reached the server (connection
    refused, connect or pool timeout): such a call can be repeated without risk. When it is True
    the outcome is unknown: the server may have applied a change before the connection failed.
    """

    def __init__(
        self, message: str, *, operation: str, url: str | None = None, request_sent: bool = True
    ) -> None:
        super().__init__(message, operation=operation, url=url)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """A connect, write, read or pool timeout expired."""


class APIStatusError(CincopaError):
    """The server answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        url: str | None,
        status_code: int,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, operation=operation, url=url)
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after


class AuthenticationError(APIStatusError):
    """401 or 403: the token is unknown, expired, or lacks the permission."""


class NotFoundError(APIStatusError):
    """404: the path does not exist on the server."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait hint in seconds, if any."""


class ServerError(APIStatusError):
    """5xx: the server failed."""


class APIResponseError(CincopaError):
    """HTTP 200 whose body says ``"success": false``; ``.message`` is the server's reason."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        url: str | None,
        payload: Mapping[str, Any],
    ) -> None:
        super().__init__(f"{operation}: {message}", operation=operation, url=url)
        self.message = message
        self.payload = payload


class QuotaExceededError(APIResponseError):
    """The upload host refused a file because the account is ``out of assets quota``.

    Cincopa's own recorder knows this reply (REAL-CLIENTS.md S7); ``.message`` and
    ``.payload["reply"]`` carry the host's words (secrets redacted). Retrying does not help:
    free space in the account, or raise its plan, first.
    """


class ResponseDecodeError(CincopaError):
    """The reply body is not JSON (or not UTF-8), or an upload host's reply is not one it is known
    to send; ``.body_excerpt`` holds its start (secrets redacted)."""

    def __init__(self, message: str, *, operation: str, url: str | None, body_excerpt: str) -> None:
        super().__init__(message, operation=operation, url=url)
        self.body_excerpt = body_excerpt


class ResponseValidationError(CincopaError):
    """The reply is JSON of the wrong shape; ``.errors`` names each bad field by its path."""

    def __init__(
        self, message: str, *, operation: str, url: str | None, errors: Sequence[str]
    ) -> None:
        super().__init__(message, operation=operation, url=url)
        self.errors = tuple(errors)


class OutcomeUnknownError(CincopaError):
    """A request that may have changed something failed in a way that hides whether it did,
    and no look-up could tell. It is not sent again -- that could store or import a file twice;
    ``__cause__`` is the failure. A rerun (with a ledger, or after the server settled) looks
    again and finds what was done."""


class UploadOutcomeUnknownError(OutcomeUnknownError):
    """The POST completing a file may have stored it, and an asset that may be it could not be
    proven or disproven (its original not yet downloadable, say)."""


class ImportOutcomeUnknownError(OutcomeUnknownError):
    """``asset.upload_from_url`` may have started an import (its reply was lost), or its job
    could not be followed, and no asset of it appeared within the wait; nothing was started
    again. A rerun finds the asset once the import finished (bulk imports look for it by
    reference_id, then for a proven untagged copy)."""


class ReferenceConflictError(CincopaError):
    """The ``reference_id`` given for an upload already names an asset whose size differs from
    the file's: another file, not this one. Nothing is uploaded; give a new reference for a new
    file (or version). ``asset`` is the asset found."""

    def __init__(self, message: str, *, operation: str, asset: Any) -> None:
        super().__init__(message, operation=operation)
        self.asset = asset


class UploadSourceError(CincopaError):
    """The file to upload could not be read (it vanished, or a read failed), or it changed while
    it was being uploaded -- then the copy stored from it is deleted, not left with bytes of
    neither version. ``__cause__`` is the ``OSError``, if any."""


class ClosedClientError(RuntimeError):
    """What a call on a closed client raises (a ``RuntimeError`` to the caller; this class is
    the SDK's own, so that a cleanup that runs as a call is cancelled can tell a client closed
    meanwhile from any other error)."""
