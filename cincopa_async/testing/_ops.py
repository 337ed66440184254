"""The emulator's own table of the 42 operations of the Cincopa REST API v2.

The emulator never reads ``endpoints.json`` at run time: this table is its knowledge of the API
(declared method, permission scope, required parameters, enumerations, integer parameters).

Permission mapping (REFERENCE.md 2.2; the exact names for delete/upload rights are *assumed*):

* list/get/read-only operations need ``<resource>.read``;
* create/update operations (``create``, ``set_meta``, ``add_item``, ``remove_item``,
  ``set_master``, ``resync``, ``cease``, ``rename``, ``set``, ``start``, ``stop``, ``reset``,
  ``add_sub``, ``token.create``) need ``<resource>.write``;
* deletions need ``<resource>.delete``; ``<resource>.write`` also grants it (assumed);
* ``asset.get_upload_url``, ``asset.upload_from_url`` (+ its ``_get_status`` and ``_abort``),
  ``upload.iframe`` and ``upload.get_upload_token`` need ``asset.upload``; ``asset.write`` also
  grants it (assumed);
* ``ping`` and ``token.get_temp`` only need a valid token (assumed);
* ``*`` grants everything and ``<resource>.*`` everything on that resource. ``write`` does *not*
  imply ``read`` (assumed: the dashboard offers them as separate grants).

``cache`` takes only ``never``, on the three operations Cincopa's Chrome extension sends it with
(REAL-CLIENTS.md S7: ``asset.get_tags``, ``asset.list``, ``asset.set_meta``), and changes nothing
(the emulator caches nothing).

Resources are ``gallery``, ``asset``, ``portal``, ``webhook``, ``live``, ``account`` and ``token``
(the last three are assumed names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["OPERATIONS", "RESOURCES", "Operation", "grants", "is_valid_scope", "scope_covers"]

RESOURCES: frozenset[str] = frozenset(
    {"gallery", "asset", "portal", "webhook", "live", "account", "token"}
)
_ACTIONS = frozenset({"read", "write", "delete"})

_YES_NO = frozenset({"yes", "no"})
_NEVER = frozenset({"never"})


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: wire name, declared HTTP method, required scope and parameter rules."""

    name: str
    method: str
    scope: str | None
    required: tuple[str, ...] = ()
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    integers: tuple[str, ...] = ()


def _op(
    name: str,
    method: str,
    scope: str | None,
    required: tuple[str, ...] = (),
    enums: Mapping[str, frozenset[str]] | None = None,
    integers: tuple[str, ...] = (),
) -> tuple[str, Operation]:
    return name, Operation(
        name, method, scope, required, MappingProxyType(dict(enums or {})), integers
    )


_PAGING = ("page", "items_per_page")

OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    dict(
        [
            _op("ping", "GET", None),
            _op("token.get_temp", "GET", None, integers=("ttl",)),
            _op("gallery.create", "POST", "gallery.write", ("name",)),
            _op("gallery.set_meta", "POST", "gallery.write", ("fid",)),
            _op("gallery.delete", "POST", "gallery.delete", ("fid",), {"delete_assets": _YES_NO}),
            _op(
                "gallery.add_item",
                "POST",
                "gallery.write",
                ("fid", "rid"),
                {"insert_position": frozenset({"top", "bottom"})},
            ),
            _op("gallery.remove_item", "POST", "gallery.write", ("fid", "rid")),
            _op("gallery.list", "GET", "gallery.read", integers=_PAGING),
            _op("gallery.get_items", "GET", "gallery.read", ("fid",), integers=_PAGING),
            _op("gallery.set_master", "POST", "gallery.write", ("master",)),
            _op("gallery.download", "GET", "gallery.read", ("fid",)),
            _op("asset.list", "GET", "asset.read", enums={"cache": _NEVER}, integers=_PAGING),
            _op("asset.get_tags", "GET", "asset.read", enums={"cache": _NEVER}),
            _op("asset.set_meta", "POST", "asset.write", ("rid",), {"cache": _NEVER}),
            _op("asset.resync", "POST", "asset.write", ("rid",)),
            _op("asset.delete", "POST", "asset.delete", ("rid",)),
            _op("asset.get_upload_url", "GET", "asset.upload", integers=("ttl",)),
            _op("asset.upload_from_url", "POST", "asset.upload", ("input",)),
            _op("asset.upload_from_url_get_status", "GET", "asset.upload", ("status_id",)),
            _op("asset.upload_from_url_abort", "POST", "asset.upload", ("status_id",)),
            _op(
                "upload.iframe",
                "GET",
                "asset.upload",
                enums={"view": frozenset({"large", "small", "list"})},
            ),
            _op("upload.get_upload_token", "GET", "asset.upload", integers=("ttl",)),
            _op("portal.check", "GET", "portal.read", ("subdomain",)),
            _op("portal.cease", "POST", "portal.write", ("subdomain",)),
            _op("portal.rename", "POST", "portal.write", ("from", "to")),
            _op("portal.remove", "POST", "portal.delete", ("subdomain",)),
            _op(
                "portal.set",
                "POST",
                "portal.write",
                ("subdomain",),
                {
                    "allow_public": _YES_NO,
                    "cincopa_login": _YES_NO,
                    "cincopa_login_registration": frozenset({"anyone", "restricted", "off"}),
                },
            ),
            _op("portal.list", "GET", "portal.read"),
            _op("webhook.list", "GET", "webhook.read"),
            _op("webhook.set", "POST", "webhook.write", ("hook_url", "events")),
            _op("webhook.set_slack", "POST", "webhook.write", ("hook_url", "events")),
            _op("webhook.delete", "POST", "webhook.delete", ("hook_url",)),
            _op("live.create", "GET", "live.write"),
            _op("live.list", "GET", "live.read"),
            _op("live.start", "GET", "live.write", ("id",)),
            _op("live.stop", "GET", "live.write", ("id",)),
            _op("live.reset", "GET", "live.write", ("id",)),
            _op("live.delete", "GET", "live.delete", ("id",)),
            _op("account.list_sub", "GET", "account.read"),
            _op("account.add_sub", "GET", "account.write", ("name",)),
            _op("token.list", "GET", "token.read"),
            _op("token.create", "GET", "token.write", ("name", "permissions")),
        ]
    )
)


def is_valid_scope(scope: str) -> bool:
    """``*``, ``<resource>.*``, ``<resource>.read|write|delete`` or ``asset.upload``."""
    if scope == "*":
        return True
    resource, _, action = scope.partition(".")
    if resource not in RESOURCES:
        return False
    return action == "*" or action in _ACTIONS or (resource == "asset" and action == "upload")


def grants(permissions: frozenset[str], required: str) -> bool:
    """Whether a token holding ``permissions`` may call an operation needing ``required``."""
    if "*" in permissions or required in permissions:
        return True
    resource, _, action = required.partition(".")
    if f"{resource}.*" in permissions:
        return True
    if action == "delete" and f"{resource}.write" in permissions:
        return True
    return action == "upload" and "asset.write" in permissions


def scope_covers(permissions: frozenset[str], scope: str) -> bool:
    """Whether ``scope`` (being handed to a child token) is within ``permissions``."""
    if scope == "*":
        return "*" in permissions
    if scope.endswith(".*"):
        return "*" in permissions or scope in permissions
    return grants(permissions, scope)
