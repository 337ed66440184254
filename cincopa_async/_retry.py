"""The retry policy: what is retried, how often, and how long to wait in between.

* ``retry_safe`` operations (reads, and absolute sets whose repetition changes nothing) are retried
  after connection failures, timeouts, HTTP 408, 429 and 5xx.
* Every other operation is retried only when the failure cannot have reached the server (the
  connection was never made: ``APIConnectionError.request_sent`` is False) and on 429, which the
  server sends instead of acting.
* The wait grows exponentially (``initial_delay * 2**attempt``, capped at ``max_delay``) with
  "equal jitter" (a random factor between 0.5 and 1). A ``Retry-After`` hint replaces it, up to
  ``max_retry_after`` seconds; a longer hint is not waited for and the error is raised.

Hand-written rather than built on a retry library: the decision needs the operation, the error
class and the server's hint together, the limiter must be released while waiting, and importing
stamina (with tenacity) costs more than this module does at run time.

**Every place a request can be sent more than once, and why each is safe.** Nothing else in the
SDK re-sends; the transports do not either (tests/test_hostile_wire.py counts the requests a
raw server receives).

1. This policy (``AsyncCincopa._with_retries``): a ``retry_safe`` operation after any transient
   failure -- sending a read or an absolute set twice changes nothing; any other operation only
   when the first try certainly did not reach the server (the connection was never made) or was
   refused with 429 (the server did not act).
2. aiohttp's own resend of idempotent methods when a connection drops after the request was
   written: turned off (``_aiohttp``), because ``token.create``, ``account.add_sub`` and
   ``live.*`` are GETs that create things. httpcore (trio) only moves a request that was never
   written to a new connection, which is not a resend.
3. Upload chunks other than the last (``_uploads``): retried as retry-safe -- the host keeps the
   last copy of a chunk posted at the same offset (Cincopa's chunked-upload guide).
4. The POST that completes a file: sent again only after a lookup found no asset that provably
   holds the file's bytes (``find_stored_asset``: its original downloaded and hashed), or when
   the failure certainly did not reach the host.
5. ``asset.upload_from_url``: never sent again after an unknown outcome -- the import's asset
   is waited for and proven against the URL's bytes instead (``import_url``); its status polls
   and the range downloads of proofs are reads.
6. Bulk item attempts (``_bulk``, ``item_attempts``) re-run an item: an upload starts again by
   looking up its reference and any proven untagged copy, so it never stores a file twice; an
   import is attempted again only if it certainly did not start; ``set_meta`` is absolute;
   ``delete`` confirms with ``asset.list`` after an unknown outcome; ``gallery.add_item`` adds
   rids already in the gallery as a no-op (the emulator's rule; assumed of the live API);
   ``bulk.run`` makes one attempt unless the caller asks for more.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from typing import NamedTuple

from ._errors import (
    APIConnectionError,
    APIStatusError,
    CincopaError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
)

__all__ = ["RetryPolicy", "is_transient", "parse_retry_after"]


def is_transient(error: BaseException) -> bool:
    """A failure that may well not happen again: the connection, 408/429/5xx, or a garbled
    reply. What a bulk item is attempted again for, and what a look-up that polls rides out."""
    if isinstance(
        error, APIConnectionError | RateLimitError | ResponseDecodeError | ResponseValidationError
    ):
        return True
    return isinstance(error, APIStatusError) and (
        error.status_code >= 500 or error.status_code == 408
    )


class RetryPolicy(NamedTuple):
    """How many times, and with what waits, a failed call is retried."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay_before_retry(
        self, retry_safe: bool, error: CincopaError, retries_done: int
    ) -> float | None:
        """Seconds to wait before retrying ``error``, or None when it must be raised.

        ``retry_safe``: may the operation be repeated after it possibly reached the server?
        """
        if retries_done >= self.max_retries or not self._is_retryable(retry_safe, error):
            return None
        hint: float | None = error.retry_after if isinstance(error, APIStatusError) else None
        if hint is not None:
            return hint if hint <= self.max_retry_after else None
        backoff = min(self.max_delay, self.initial_delay * 2.0**retries_done)
        return backoff * (0.5 + random.random() / 2)

    @staticmethod
    def _is_retryable(retry_safe: bool, error: CincopaError) -> bool:
        if isinstance(error, RateLimitError):
            return True
        if isinstance(error, APIConnectionError):
            return retry_safe or not error.request_sent
        if isinstance(error, APIStatusError):
            return retry_safe and (error.status_code == 408 or error.status_code >= 500)
        return False


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    A date too far off for the calendar (year 999999999...) is ``inf``: far too long to wait.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # HTTP-date hints are rare: not worth a cost on every import

        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except OverflowError:
            return math.inf
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
