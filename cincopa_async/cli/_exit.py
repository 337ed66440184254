"""Exit codes of the ``cincopa`` command: one per error class of ``cincopa_async._errors``."""

from __future__ import annotations

from typing import Final

from cincopa_async._bulk import BulkCancelledError
from cincopa_async._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CincopaError,
    CincopaValidationError,
    NotFoundError,
    OutcomeUnknownError,
    QuotaExceededError,
    RateLimitError,
    ReferenceConflictError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
    UploadSourceError,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "exit_code_for",
]

EXIT_OK: Final = 0
EXIT_USAGE: Final = 2  # click's own: an unknown command or option, a missing required option
EXIT_INCOMPLETE: Final = 20  # a bulk job (cincopa sync) ended with failed items
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141  # 128 + SIGPIPE, as a shell reports it

#: Error class -> exit code; the most specific class of an error wins (its MRO is walked).
EXIT_CODES: Final[dict[type[BaseException], int]] = {
    CincopaError: 1,
    CincopaValidationError: 3,
    AuthenticationError: 4,
    NotFoundError: 5,
    RateLimitError: 6,
    ServerError: 7,
    APIStatusError: 8,
    APIConnectionError: 9,
    APITimeoutError: 10,
    APIResponseError: 11,
    ResponseDecodeError: 12,
    ResponseValidationError: 13,
    BulkCancelledError: 14,
    QuotaExceededError: 15,
    OutcomeUnknownError: 16,
    ReferenceConflictError: 17,
    UploadSourceError: 18,
}

_MEANINGS: Final[dict[type[BaseException], str]] = {
    CincopaError: "any other SDK error",
    CincopaValidationError: "invalid arguments or settings (nothing was sent)",
    AuthenticationError: "HTTP 401/403: bad, expired or under-privileged token",
    NotFoundError: "HTTP 404",
    RateLimitError: "HTTP 429: rate limited",
    ServerError: "HTTP 5xx",
    APIStatusError: "another HTTP error status",
    APIConnectionError: "no HTTP reply (connection refused or dropped)",
    APITimeoutError: "a timeout expired",
    APIResponseError: 'the API answered "success": false',
    ResponseDecodeError: "the reply is not JSON (or not a known upload-host reply)",
    ResponseValidationError: "the reply JSON has an unexpected shape",
    BulkCancelledError: "a bulk run stopped before an item finished",
    QuotaExceededError: "the upload host says the account is out of assets quota",
    OutcomeUnknownError: "a change may or may not have happened; not sent again (rerun later)",
    ReferenceConflictError: "a reference_id already names another file",
    UploadSourceError: "the file could not be read, or changed while uploading",
}


def exit_code_for(error: BaseException) -> int:
    """The exit code of ``error``: that of its most specific class in ``EXIT_CODES``."""
    for cls in type(error).__mro__:
        code = EXIT_CODES.get(cls)
        if code is not None:
            return code
    return 1


def exit_code_table() -> str:
    """The mapping as text lines, for the help epilog and the docs."""
    rows = [(EXIT_OK, "success"), (EXIT_USAGE, "usage error (unknown command or option)")]
    rows += [(code, f"{cls.__name__}: {_MEANINGS[cls]}") for cls, code in EXIT_CODES.items()]
    rows.append((EXIT_INCOMPLETE, "cincopa sync: some files failed (each is reported)"))
    rows.append((EXIT_INTERRUPTED, "interrupted (Ctrl-C)"))
    rows.append((EXIT_BROKEN_PIPE, "stdout was closed before the end (| head)"))
    return "\n".join(f"{code:>3}  {text}" for code, text in sorted(rows))
