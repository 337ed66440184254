"""Self-generated "v3" temporary tokens in the emulator (REFERENCE.md sections 2.3 b and 10).

A token that is not a stored token and matches ``^\\d+i3.{4}`` is read as a v3 token: the parent
is looked up among the **permanent** tokens of the account named by the leading digits whose
last four characters match, and the token is decrypted with
``cincopa_async.tokens.parse_temp_token`` (several candidates are tried in turn -- assumed), which
reads every form Cincopa's own generators write (REAL-CLIENTS.md): the expiry with 7 fractional
digits (S1 Strapi, S5 Moodle) or 3 (S3 Shopify's ``toISOString()``), and Moodle's ``!d`` segment
(S5, with ``rrid=assign:<cm>:<user>``). The result is a transient ``TokenRecord``
(``temp=True``, never stored, so ``token.list`` does not show it) that goes through the same
checks as tokens from ``token.get_temp``:

* expiry against the emulator clock (``state.now()``; at or after the expiry is expired);
* ``!p`` scopes must be valid and within the parent's (``scope_covers``, as for
  ``token.get_temp``), otherwise the token is refused; without ``!p`` the token has the parent's
  permissions (assumed); the operation's scope is then checked with ``grants`` as for any token;
* ``!r``/``!f``: a request naming another ``rid``/``fid`` is refused (a request naming none
  passes, like ``token.get_temp`` tokens);
* ``!i``: compared with the client address of the ASGI scope -- ``127.0.0.1`` for in-process
  requests (``EmulatorTransport`` gives ``httpx.ASGITransport`` ``client=("127.0.0.1", 50000)``),
  the peer address under ``serve()``;
* ``!h`` (host) and ``!d`` (rrid, S5): accepted but not enforced (assumed; their server-side
  meaning is not documented).

Every failure is the usual 403 ``{"success": false, "message"}``. Without the ``cryptography``
package (the ``tokens`` extra) v3 tokens are refused with a message saying so.
"""

from __future__ import annotations

import re

from cincopa_async.tokens import TempTokenError, TokensExtraMissingError, parse_temp_token

from ._handlers import AuthFailure
from ._ops import is_valid_scope, scope_covers
from ._state import EmulatorState, TokenRecord

__all__ = ["V3_TOKEN", "resolve_v3_token"]

V3_TOKEN = re.compile(r"(\d+)i3(.{4})", re.DOTALL)


def resolve_v3_token(state: EmulatorState, value: str) -> TokenRecord | None:
    """The transient record of v3 token ``value``, or None when it does not look like one.

    Raises ``AuthFailure`` when it looks like one but cannot be used (call under ``state.lock``).
    """
    match = V3_TOKEN.match(value)
    if match is None:
        return None
    uid, last4 = match.groups()
    parents = [
        t
        for t in state.tokens.values()
        if t.uid == uid and not t.temp and t.value[-4:] == last4 and t.value != value
    ]
    claims = parent = None
    for candidate in parents:
        try:
            claims = parse_temp_token(value, candidate.value)
        except TokensExtraMissingError:
            raise AuthFailure(
                "v3 temporary tokens need the emulator's 'tokens' extra: "
                "pip install 'cincopa-async[tokens]'"
            ) from None
        except (TempTokenError, ValueError):
            continue
        parent = candidate
        break
    if claims is None or parent is None:
        raise AuthFailure("invalid api_token")
    # the expiry and the rid/fid/source-ip restrictions are checked by the caller, as for
    # token.get_temp tokens (TokenRecord.expires/rid/fid/sourceip)
    if claims.permissions is None:
        permissions, permissions_text = parent.permissions, parent.permissions_text
    else:
        for scope in claims.permissions:
            if not is_valid_scope(scope) or not scope_covers(parent.permissions, scope):
                raise AuthFailure(f"api_token grants a permission its parent does not: {scope}")
        permissions = frozenset(claims.permissions)
        permissions_text = "|".join(claims.permissions)
    return TokenRecord(
        value=value,
        uid=uid,
        permissions=permissions,
        permissions_text=permissions_text,
        name=f"v3:{parent.name}",
        temp=True,
        expires=claims.expires.timestamp(),
        sourceip=claims.source_ip,
        fid=claims.fid,
        rid=claims.rid,
        host=claims.host,
        created=state.now(),
    )
