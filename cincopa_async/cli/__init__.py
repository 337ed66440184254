"""The ``cincopa`` command line (the ``cli`` extra: ``pip install 'cincopa-async[cli]'``).

Every API operation is a command, generated at run time from the endpoint table
(``cincopa_async._spec.ENDPOINTS``), so none is missing::

    cincopa ping
    cincopa asset list --type video --items-per-page 50 --all
    cincopa gallery create --name "Launch videos"
    cincopa portal rename --from old --to new
    cincopa --json asset get-tags            # the reply's raw JSON, for scripts
    cincopa upload clips/ --gallery FID --concurrency 8
    cincopa upload iframe --fid FID          # prints a widget URL with a temporary token
    cincopa emulator --port 8765             # serve the emulator
    cincopa demo                             # the main job against an emulator on loopback

Options come from each parameter: text and numbers are typed options, comma lists (``--tags``)
and pipe lists (``--permissions``) are repeatable or separated text, enums are choices, yes/no
switches are ``--x/--no-x`` flag pairs, JSON arguments are JSON text; required parameters are
required options. Underscores work as well as dashes (``set_meta``, ``--items_per_page``).

The token comes from ``--token`` or ``CINCOPA_API_TOKEN`` and is never printed: not in output,
errors or progress (it is scrubbed from everything the command writes, and ``upload iframe``
puts a temporary token in its URL). Other credentials are printed only by the commands that
exist to produce them (``token get-temp``, ``token create``, ``asset get-upload-url``, ``upload
get-upload-token``, ``upload iframe``), on stdout; everywhere else they are redacted
(``cincopa_async.cli._output`` states the policy). ``--all`` streams pages as they arrive and
stops after ``--max-pages``. ``--base-url`` (or ``CINCOPA_BASE_URL``) targets another
API root, such as an emulator. Progress and errors go to stderr, results to stdout.

Exit codes, one per error class of ``cincopa_async._errors`` (the most specific class wins; a
bulk upload with failures exits with the code of its first failure)::

      0  success
      1  CincopaError: any other SDK error
      2  usage error (unknown command or option)
      3  CincopaValidationError: invalid arguments or settings (nothing was sent)
      4  AuthenticationError: HTTP 401/403: bad, expired or under-privileged token
      5  NotFoundError: HTTP 404
      6  RateLimitError: HTTP 429: rate limited
      7  ServerError: HTTP 5xx
      8  APIStatusError: another HTTP error status
      9  APIConnectionError: no HTTP reply (connection refused or dropped)
     10  APITimeoutError: a timeout expired
     11  APIResponseError: the API answered "success": false
     12  ResponseDecodeError: the reply is not JSON (or not a known upload-host reply)
     13  ResponseValidationError: the reply JSON has an unexpected shape
     14  BulkCancelledError: a bulk run stopped before an item finished
     15  QuotaExceededError: the upload host says the account is out of assets quota
     16  OutcomeUnknownError: a change may or may not have happened; not sent again (rerun later)
     17  ReferenceConflictError: a reference_id already names another file
     18  UploadSourceError: the file could not be read, or changed while uploading
     20  cincopa sync: some files failed (each is reported)
    130  interrupted (Ctrl-C)
    141  stdout was closed before the end (| head)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """The ``cincopa`` console script (exits with the code of the mapping above)."""
    try:
        from ._app import main as run_main
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit(
            f"the cincopa command needs the 'cli' extra: pip install 'cincopa-async[cli]' ({exc})"
        ) from None
    run_main(argv)
