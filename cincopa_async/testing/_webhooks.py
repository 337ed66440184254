"""Webhook delivery: real HTTP POSTs of JSON events to the registered ``hook_url``.

* Events: ``asset.uploaded`` (upload completed, import done), ``asset.updated`` (set_meta,
  add_item, attachments), ``asset.deleted``, ``gallery.created``, ``gallery.updated``
  (set_meta, add/remove item, set_master, upload into the gallery), ``gallery.deleted``; payload
  fields as REFERENCE.md section 8. Filtered by the registered ``events`` (``asset.*``-style
  wildcards and ``*`` accepted).
* Headers (assumed): ``Content-Type: application/json``, ``User-Agent:
  cincopa-emulator-webhook/1``, ``X-Cincopa-Event: <event>``, ``X-Cincopa-Delivery: <id>``
  (same id on every retry of one delivery) and, when the hook has a ``security_key``,
  ``X-Cincopa-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by security_key>``.
* Slack hooks (``webhook.set_slack``) receive ``{"text": "<event> <name or caption> (<id>)"}``
  (assumed).
* Success is any 2xx reply. Otherwise (non-2xx, connection error, timeout) the delivery is
  retried after each delay of ``CincopaEmulator(webhook_retry_delays=...)`` (default 0.2, 1, 5 s:
  4 attempts in all; assumed), then given up.
* Only loopback receivers are contacted (``localhost``, ``*.localhost``, 127.0.0.0/8, ``::1``):
  a delivery to another host is recorded once as refused and never sent (the emulator never
  talks to the internet).

Every attempt is recorded as a ``WebhookDelivery`` in ``emu.webhook_deliveries``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from ._net import is_loopback_url
from ._state import Webhook

__all__ = ["WebhookDelivery", "deliver", "signature"]


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One delivery attempt. ``status`` is ``None`` when no HTTP reply was received."""

    delivery_id: str
    event: str
    hook_url: str
    attempt: int
    status: int | None
    error: str | None
    payload: dict[str, Any] = field(repr=False)
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(security_key: str, body: bytes) -> str:
    """The ``X-Cincopa-Signature`` header value for ``body`` (assumed scheme)."""
    digest = hmac.new(security_key.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _slack_text(event: str, payload: dict[str, Any]) -> str:
    name = payload.get("name") or payload.get("caption") or payload.get("filename") or ""
    ident = payload.get("fid") or payload.get("drid") or payload.get("id") or ""
    return f"{event} {name} ({ident})".strip()


async def deliver(
    hook: Webhook,
    event: str,
    payload: dict[str, Any],
    delivery_id: str,
    *,
    delays: Sequence[float],
    attempt_timeout: float,
    record: Callable[[WebhookDelivery], None],
    now: Callable[[], float],
) -> None:
    """Deliver one event to one hook, with retries."""
    url = hook.hook_url
    if not is_loopback_url(url):
        record(
            WebhookDelivery(
                delivery_id, event, url, 1, None, "refused: not a loopback host", payload, now()
            )
        )
        return
    if hook.kind == "slack":
        body = json.dumps({"text": _slack_text(event, payload)}).encode()
    else:
        body = json.dumps(payload).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "cincopa-emulator-webhook/1",
        "x-cincopa-event": event,
        "x-cincopa-delivery": delivery_id,
    }
    if hook.security_key:
        headers["x-cincopa-signature"] = signature(hook.security_key, body)
    attempts = 1 + len(delays)
    # verify=False: only loopback http:// receivers are ever contacted, and loading the CA bundle
    # for every delivery (~80 ms) would stall the emulator's loop.
    async with httpx.AsyncClient(
        trust_env=False,
        timeout=attempt_timeout,
        verify=False,  # noqa: S501 - loopback http:// only
    ) as client:
        for attempt in range(1, attempts + 1):
            status: int | None = None
            error: str | None = None
            try:
                response = await client.post(url, content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            record(WebhookDelivery(delivery_id, event, url, attempt, status, error, payload, now()))
            if error is None or attempt == attempts:
                return
            await anyio.sleep(delays[attempt - 1])
