"""Business logic of the 42 operations. Every handler is synchronous and runs under the state lock.

A handler returns the operation's own reply fields (the app adds ``success`` and ``runtime``) or
raises ``ApiFailure`` (HTTP 200 ``{"success": false, "message"}``) or ``AuthFailure`` (HTTP 403).

Behaviour taken from a real client cites it in the handler's docstring by its S-number in
``cincopa-api/REAL-CLIENTS.md`` (S1 Strapi, S3 Shopify, S4 ``cpUploadAPI``, S5 Moodle, S7 the
Chrome recorder, S8 Pipedream, ...), so that a correction is a one-line change. In short:

* **Numeric ids** (S5): Moodle's grader deletes an asset by the numeric ``id`` of the upload
  host's reply, passed as ``rid``. Wherever a rid is taken (``asset.set_meta``/``resync``/
  ``delete``, the ``rid`` filter of ``asset.list``, ``gallery.add_item``/``remove_item``, the
  ``rid`` of ``asset.get_upload_url``/``upload_from_url``, a token's ``rid`` restriction) an
  asset's numeric id names it too. Live behaviour is **unverified**: S5 shows only that
  Cincopa's own code relies on it for ``asset.delete``.
* **Webhook events** (S8): Pipedream's constants ``gallery.claim``, ``gallery.sync``,
  ``asset.synced`` and ``analytics.*`` are accepted by ``webhook.set`` besides the documented
  names (the emulator never emits them).
* **Renditions** (S1, S7): images and videos list ``jpg_100x75``, ``jpg_200x150``,
  ``jpg_600x450`` and ``jpg_1200x900``, videos also ``mp4_hd`` and ``jpg_sb_200x150``; ``exif``
  carries ``width``/``height`` (and ``duration`` for video and music) as strings. The values are
  placeholders (``"0"``, ``"00:00:00"``): the emulator does not decode media.
* ``cache=never`` (S7) is accepted by ``asset.get_tags``, ``asset.list`` and ``asset.set_meta``
  and changes nothing.

Behaviour that REFERENCE.md leaves open, all *assumed*:

* Lists are newest first (assets by upload order, galleries by creation order); a page past the
  end is empty; ``items_per_page`` defaults to 20 and is capped at 100; ``pages_count`` /
  ``page_count`` is ``ceil(items_count / items_per_page)`` (0 when nothing matches).
* ``asset.list``: ``search`` is a case-insensitive substring match over caption, filename and
  description, or a ``field=value`` filter for ``tag``, ``caption``, ``filename``,
  ``description``, ``reference_id`` and ``type``; ``rid`` is a comma list of exact rids,
  ``reference_id`` exact, ``tag`` one exact tag, ``type`` a comma list; all filters combine with
  AND. ``details`` is accepted and ignored (every field is always sent).
* ``gallery.list``: ``search`` is a substring of name/description, or ``caption=<name>`` /
  ``name=<name>`` (exact, case-insensitive) or ``tag=<tag>``; ``filter_tags`` keeps galleries
  with at least one listed tag and none of the ``-tag`` ones. The tag cloud counts the tags of
  all galleries; ``workspace`` is ``"default"``.
* Tags are a comma list; ``set_meta`` replaces the whole set.
* ``gallery.add_item`` fails (and changes nothing) when any rid is unknown; rids already in the
  gallery keep their place; ``top`` inserts the new rids at the top in the given order.
  ``gallery.remove_item`` fails when any rid is not in the gallery.
* Master/linked rules: ``set_master(master=M)`` makes M a master (idempotent; a gallery linked to
  a master cannot become one); ``set_master(master=M, fid=G)`` links G to master M (M must be a
  master, G must not be one, G != M; re-linking is allowed); ``gallery.create(master=M)`` requires
  M to be a master. Masters cannot be deleted and cannot be un-mastered (no operation does
  that). A linked gallery inherits the master's ``template`` and ``args``.
* ``gallery.delete(delete_assets=yes)`` also deletes every asset of the gallery (and removes it
  from every other gallery); it then needs the ``asset.delete`` right too.
* Asset types are guessed from the file extension: image, video, music, document, other.
  Thumbnails/versions are URLs on the emulator itself (``/media/<rid>/<version>/<file>``);
  ``syncstatus`` is ``synced`` at once; ``asset.resync`` only bumps ``modified``.
* Attaching (``rid`` + ``type``) stores the file as version ``type`` of the asset (``thumb``
  replaces its thumbnail); ``type`` is required when ``rid`` is given.
* Portals: a subdomain is 3-63 characters of ``a-z0-9-`` not starting or ending with ``-``;
  ``www``, ``api``, ``admin``, ``mail``, ``media``, ``mediaupload``, ``app``, ``help``,
  ``support``, ``static``, ``cdn``, ``blog``, ``dev`` and ``test`` are reserved (never available).
  ``portal.check`` answers ``subdomain: "available"`` or ``"taken"`` (an invalid name is a
  ``success: false``). ``portal.cease`` = claim the subdomain if available (the overview's table
  also calls it "deactivate/cease"; the detailed section, followed here, says create if
  available). ``portal.set`` creates the portal if the subdomain is available, updates it when the
  caller owns it, and fails otherwise. ``args`` must be a JSON *object*. ``simple_user_add`` is a
  CSV of ``user:password`` pairs or a JSON array of such strings or of
  ``{"user"|"username": ..., "password": ...}`` objects; passwords are stored hashed and never
  sent back. ``portal.list`` items carry the settings (never the passwords).
* Webhooks: ``events`` must name documented events (``gallery.created|updated|deleted|synced``,
  ``asset.uploaded|updated|deleted``, ``account.traffic_usage|settings``, ``lead.created``),
  Pipedream's (S8: ``gallery.claim|sync``, ``asset.synced``) or a namespace wildcard
  (``asset.*``, ``gallery.*``, ``account.*``, ``lead.*``/``leads.*``, ``analytics.*``) or
  ``*``; ``hook_url`` must be an http(s) URL. ``webhook.list`` items are
  ``{"hook_url", "events", "type": "webhook"|"slack"}`` (the key is never sent back).
* Temporary tokens (``token.get_temp``): ``ttl`` defaults to 600 s, must be 1..86400 and never
  outlives a temporary parent; ``permissions`` must be within the parent's; ``fid``/``rid``
  restrict the token to requests naming that gallery/asset (403 otherwise); ``sourceip`` to that
  client address; ``host`` is stored but not enforced.
* ``token.create`` needs valid scopes within the caller's own; ``sub_account`` must be a
  sub-account of the caller. ``token.list`` lists the permanent tokens of the account.
* ``upload_from_url`` only fetches loopback URLs (``localhost``, ``*.localhost``, 127.0.0.0/8,
  ``::1``); the status of a job is ``inprogress`` then ``done`` (with ``resid``), ``failed`` or
  ``aborted``; numbers in the status are strings. Aborting a finished job fails; aborting an
  aborted one succeeds again.
* Live streams: ``live.create`` -> ``{"id"}``; ``live.list`` -> ``{"live_streams": [{"id", "name",
  "description", "status": "idle"|"live", "created", "rtmp_url"}]}``; ``start``/``stop`` switch
  the status; ``reset`` issues a new stream key and stops the stream.
* ``gallery.download`` -> ``{"url"}`` pointing at ``/download/<fid>.zip`` on the emulator (not
  served). ``upload.get_upload_token`` -> ``{"token", "upload_url"}`` (an upload URL bound to
  ``fid``).
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ._net import is_loopback_url
from ._ops import grants, is_valid_scope, scope_covers
from ._state import (
    Account,
    Asset,
    Attachment,
    EmulatorState,
    Gallery,
    ImportJob,
    LiveStream,
    Portal,
    TokenRecord,
    Webhook,
    iso,
)

__all__ = [
    "HANDLERS",
    "ApiFailure",
    "AuthFailure",
    "Ctx",
    "asset_event",
    "create_asset",
    "gallery_event",
    "guess_type",
]

Reply = dict[str, Any]


class ApiFailure(Exception):
    """A handled failure: HTTP 200 ``{"success": false, "message": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthFailure(Exception):
    """HTTP 403 ``{"success": false, "message": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True, repr=False)
class Ctx:
    state: EmulatorState
    account: Account
    token: TokenRecord
    params: dict[str, str]
    base: str
    client_ip: str


# -- helpers ------------------------------------------------------------------------------------

_TYPES: dict[str, str] = {}
for _ext in ["jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "svg", "heic", "avif"]:
    _TYPES[_ext] = "image"
for _ext in [
    "mp4",
    "mov",
    "avi",
    "mkv",
    "webm",
    "m4v",
    "wmv",
    "flv",
    "mpg",
    "mpeg",
    "3gp",
    "ts",
    "m2ts",
]:
    _TYPES[_ext] = "video"
for _ext in ["mp3", "wav", "aac", "m4a", "ogg", "oga", "flac", "wma", "opus", "aif", "aiff"]:
    _TYPES[_ext] = "music"
for _ext in ["pdf", "doc", "docx", "ppt", "pptx", "xls", "xlsx", "txt", "rtf", "odt", "csv", "zip"]:
    _TYPES[_ext] = "document"

_THUMBS = ("jpg_100x75", "jpg_200x150", "jpg_600x450", "jpg_1200x900")  # S1 reads them
_DERIVED: dict[str, tuple[str, ...]] = {
    "image": _THUMBS,
    "video": ("mp4_hd", *_THUMBS, "jpg_sb_200x150"),  # S7 reads mp4_hd and jpg_sb_200x150
    "music": (),
    "document": (),
    "other": (),
}


def guess_type(filename: str) -> str:
    """Asset type from the file extension (assumed vocabulary: image/video/music/document/other)."""
    ext = posixpath.splitext(filename)[1].lower().lstrip(".")
    return _TYPES.get(ext, "other")


def csv(value: str | None) -> list[str]:
    if not value:
        return []
    seen: dict[str, None] = {}
    for part in value.split(","):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def _opt(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value else None


def _paging(params: dict[str, str]) -> tuple[int, int]:
    page = int(params.get("page") or 1)
    per_page = int(params.get("items_per_page") or 20)
    if page < 1:
        raise ApiFailure("page must be 1 or more")
    if per_page < 1:
        raise ApiFailure("items_per_page must be 1 or more")
    return page, min(per_page, 100)


def _page(items: list[Any], page: int, per_page: int) -> tuple[list[Any], dict[str, int]]:
    count = len(items)
    start = (page - 1) * per_page
    data = {
        "page": page,
        "items_per_page": per_page,
        "items_count": count,
        "pages_count": math.ceil(count / per_page),
    }
    return items[start : start + per_page], data


def _media_url(base: str, rid: str, version: str, filename: str) -> str:
    return f"{base}/media/{rid}/{version}/{quote(filename)}"


def render_asset(asset: Asset, base: str) -> Reply:
    """An asset as ``asset.list`` and ``gallery.get_items`` list it (REFERENCE.md 6.1), with the
    fields real clients read: ``caption``/``filename``/``uploaded``/``versions[...].url``/
    ``thumbnail.url``/``type`` (S1), ``exif.duration`` (S3, S7), ``exif.width``/``height``,
    ``id`` (S7), ``versions.original.url`` (S9). See the module docstring for the renditions."""
    rid = asset.rid
    stem = posixpath.splitext(asset.filename)[0] or "file"
    versions: dict[str, dict[str, Any]] = {
        "original": {
            "url": _media_url(base, rid, "original", asset.filename),
            "filesize": asset.filesize,
        }
    }
    for name in _DERIVED.get(asset.type, ()):
        ext = "mp4" if name.startswith("mp4") else "jpg"
        versions[name] = {"url": _media_url(base, rid, name, f"{stem}.{ext}")}
    for attachment in asset.attachments.values():
        versions[attachment.name] = {
            "url": _media_url(base, rid, attachment.name, attachment.filename),
            "filesize": attachment.filesize,
        }
    thumb = asset.attachments.get("thumb")
    thumbnail = (
        _media_url(base, rid, "thumb", thumb.filename)
        if thumb
        else _media_url(base, rid, "thumbnail", f"{stem}.jpg")
    )
    exif: dict[str, str] = {}
    if asset.type in ("video", "music"):
        exif["duration"] = "00:00:00"
    if asset.type in ("video", "image"):
        exif["width"] = exif["height"] = "0"
    return {
        "rid": rid,
        "id": asset.id,
        "type": asset.type,
        "filename": asset.filename,
        "caption": asset.caption,
        "description": asset.description,
        "long_description": asset.long_description,
        "related_link_text": asset.related_link_text,
        "related_link_url": asset.related_link_url,
        "reference_id": asset.reference_id,
        "tags": ",".join(asset.tags),
        "uploaded": iso(asset.uploaded),
        "modified": iso(asset.modified),
        "uploaded_by": asset.uploaded_by,
        "filesize": asset.filesize,
        "syncstatus": asset.syncstatus,
        "storage": "emulator",
        "thumbnail": {"url": thumbnail},
        "exif": exif,
        "versions": versions,
    }


def _gallery_upload_url(state: EmulatorState, gallery: Gallery, base: str) -> str:
    ticket = state.upload_tickets[gallery.upload_ticket]
    return state.upload_url(base, ticket)


def render_gallery(state: EmulatorState, gallery: Gallery, base: str) -> Reply:
    return {
        "fid": gallery.fid,
        "name": gallery.name,
        "description": gallery.description,
        "upload_url": _gallery_upload_url(state, gallery, base),
        "tags": ",".join(gallery.tags),
        "modified": iso(gallery.modified),
        "syncstatus": "synced",
    }


def _folders_of(account: Account, rid: str) -> list[str]:
    return [g.fid for g in account.galleries.values() if rid in g.items]


def asset_event(account: Account, asset: Asset, event: str, base: str, reason: str = "") -> Reply:
    """Payload of ``asset.uploaded`` / ``asset.updated`` / ``asset.deleted`` (REFERENCE.md 8).

    ``drid`` (the rid) is sent with every asset event, ``asset.uploaded`` included (assumed).
    """
    rendered = render_asset(asset, base)
    versions = {k: dict(v) for k, v in rendered["versions"].items()}
    media = {"syncstatus": asset.syncstatus, "type": asset.type, "value": rendered["versions"]}
    if event == "asset.uploaded":
        return {
            "event": event,
            "id": asset.id,
            "drid": asset.rid,
            "oid": account.uid,
            "pid": int(asset.id),
            "uploaded_by": asset.uploaded_by,
            "email": account.email,
            "stored": 1,
            "modified": iso(asset.modified),
            "caption": asset.caption,
            "filename": asset.filename,
            "thumbnail": {"syncstatus": "synced", "type": "jpg", "value": rendered["thumbnail"]},
            "content": media,
            "bitrate": "",
            "duration": "00:00:00" if asset.type in ("video", "music") else "",
            "width": "",
            "height": "",
            "originaldate": iso(asset.uploaded),
            "versions": versions,
        }
    return {
        "event": event,
        "id": asset.id,
        "drid": asset.rid,
        "duid": account.uid,
        "type": asset.type,
        "caption": asset.caption,
        "description": asset.description,
        "long_description": asset.long_description,
        "filename": asset.filename,
        "filesize": asset.filesize,
        "tags": ",".join(asset.tags),
        "reference_id": asset.reference_id,
        "related_link_text": asset.related_link_text,
        "related_link_url": asset.related_link_url,
        "uploaded": iso(asset.uploaded),
        "uploaded_by": asset.uploaded_by,
        "modified": iso(asset.modified),
        "email": account.email,
        "storage": "emulator",
        "in_folders_list": _folders_of(account, asset.rid),
        "plan_name": "emulator",
        "accid": account.uid,
        "reason": reason,
        "args": {},
        "timeline": {},
        "pid": int(asset.id),
        "thumbnail": {"syncstatus": "synced", "type": "jpg", "value": rendered["thumbnail"]},
        "storyboard": {"syncstatus": "notsynced", "type": "", "value": ""},
        "content": media,
    }


def gallery_event(account: Account, gallery: Gallery, event: str, reason: str = "") -> Reply:
    """Payload of ``gallery.created`` / ``gallery.updated`` / ``gallery.deleted``."""
    payload: Reply = {
        "event": event,
        "fid": gallery.fid,
        "name": gallery.name,
        "description": gallery.description,
        "tags": ",".join(gallery.tags),
        "items_count": len(gallery.items),
        "sync_status": "synced",
        "sync_type": "original",
        "uid": int(account.uid),
        "duid": account.uid,
        "email": account.email,
        "modified": iso(gallery.modified),
    }
    if event != "gallery.created":
        payload["reason"] = reason
    return payload


def canonical_rid(account: Account, value: str) -> str:
    """``value`` as a rid: an asset's numeric id names the asset too (S5, live unverified)."""
    if value in account.assets or not value.isdigit():
        return value
    return next((a.rid for a in account.assets.values() if a.id == value), value)


def _asset(ctx: Ctx, rid: str) -> Asset:
    """The asset named by ``rid``: its rid, or its numeric id (S5; see the module docstring)."""
    asset = ctx.account.assets.get(canonical_rid(ctx.account, rid))
    if asset is None:
        raise ApiFailure(f"asset not found: {rid}")
    return asset


def _gallery(ctx: Ctx, fid: str) -> Gallery:
    gallery = ctx.account.galleries.get(fid)
    if gallery is None:
        raise ApiFailure(f"gallery not found: {fid}")
    return gallery


def new_gallery(state: EmulatorState, account: Account, name: str) -> Gallery:
    fid = state.random_id()
    now = state.now()
    ticket = state.new_upload_ticket(account.uid, fid=fid)
    gallery = Gallery(
        fid=fid, name=name, created=now, modified=now, upload_ticket=ticket.d, seq=state.next_seq()
    )
    account.galleries[fid] = gallery
    return gallery


def create_asset(
    state: EmulatorState,
    account: Account,
    filename: str,
    content: bytes,
    *,
    fid: str | None,
    base: str,
) -> Asset:
    """Create an asset from uploaded bytes, add it to gallery ``fid``, emit ``asset.uploaded``."""
    now = state.now()
    asset = Asset(
        rid=state.random_id(),
        id=state.next_asset_id(),
        type=guess_type(filename),
        filename=filename,
        uploaded=now,
        modified=now,
        uploaded_by=account.email,
        filesize=len(content),
        seq=state.next_seq(),
        caption=posixpath.splitext(filename)[0],
        content=content,
    )
    account.assets[asset.rid] = asset
    state.emit(account.uid, "asset.uploaded", asset_event(account, asset, "asset.uploaded", base))
    if fid and fid in account.galleries:
        gallery = account.galleries[fid]
        gallery.items.append(asset.rid)
        gallery.modified = now
        state.emit(
            account.uid,
            "gallery.updated",
            gallery_event(account, gallery, "gallery.updated", "folders addItem"),
        )
    return asset


def attach_file(
    state: EmulatorState,
    account: Account,
    asset: Asset,
    name: str,
    filename: str,
    content: bytes,
    base: str,
) -> None:
    """Store ``content`` as version ``name`` of ``asset`` and emit ``asset.updated``."""
    asset.attachments[name] = Attachment(name, filename, len(content), content)
    asset.modified = state.now()
    state.emit(
        account.uid,
        "asset.updated",
        asset_event(account, asset, "asset.updated", base, f"attach {name}"),
    )


def filename_from_url(url: str) -> str:
    path = urlsplit(url).path
    name = unquote(posixpath.basename(path))
    return name or "download"


# -- general ------------------------------------------------------------------------------------


def ping(ctx: Ctx) -> Reply:
    """Identity of the token: S5 reads ``accid``; S11's schema gives ``accid_num`` (numeric) and
    ``revertid`` (a boolean)."""
    account = ctx.account
    return {
        "ping": "pong",
        "accid": account.uid,
        "accid_num": int(account.uid),
        "accemail": account.email,
        "userid": account.uid,
        "userid_num": int(account.uid),
        "useremail": account.email,
        "permissions": ctx.token.permissions_text,
        "ip": ctx.client_ip,
        "revertid": False,
    }


def token_get_temp(ctx: Ctx) -> Reply:
    """A stored temporary token; S1 (before v3) called it with ``ttl=600`` and ``sourceip`` and
    read ``{success, token, message}``."""
    p = ctx.params
    ttl = int(p.get("ttl") or 600)
    if not 1 <= ttl <= 86400:
        raise ApiFailure("ttl must be between 1 and 86400 seconds")
    parent = ctx.token
    requested = _opt(p, "permissions")
    if requested is None:
        permissions = parent.permissions_text
    else:
        scopes = [s for s in requested.split("|") if s]
        for scope in scopes:
            if not is_valid_scope(scope):
                raise ApiFailure(f"invalid permission: {scope}")
            if not scope_covers(parent.permissions, scope):
                raise ApiFailure(f"permission not held by the parent token: {scope}")
        permissions = "|".join(scopes)
    expires = ctx.state.now() + ttl
    if parent.expires is not None:
        expires = min(expires, parent.expires)
    record = ctx.state.new_token(
        ctx.account.uid,
        permissions,
        name=f"temp:{parent.name}",
        temp=True,
        expires=expires,
        sourceip=_opt(p, "sourceip") or parent.sourceip,
        fid=_opt(p, "fid") or parent.fid,
        rid=_opt(p, "rid") or parent.rid,
        host=_opt(p, "host") or parent.host,
    )
    return {"token": record.value}


# -- galleries ----------------------------------------------------------------------------------


def gallery_create(ctx: Ctx) -> Reply:
    """``{fid}``: S8 reads ``response.fid``; S6 passes ``template=<fid>``, ``copy_args`` and
    ``copy_items`` (its gallery duplication) and reads ``{success, fid}``."""
    p, state, account = ctx.params, ctx.state, ctx.account
    master_fid = _opt(p, "master")
    master = None
    if master_fid is not None:
        master = _gallery(ctx, master_fid)
        if not master.is_master:
            raise ApiFailure(f"gallery {master_fid} is not a master gallery")
    copy_args = _gallery(ctx, p["copy_args"]) if p.get("copy_args") else None
    copy_items = _gallery(ctx, p["copy_items"]) if p.get("copy_items") else None
    template = p.get("template", "")
    if template and template in account.galleries:
        template = account.galleries[template].template
    gallery = new_gallery(state, account, p["name"])
    gallery.description = p.get("description", "")
    gallery.template = template
    if copy_args is not None:
        gallery.args = dict(copy_args.args)
        gallery.template = gallery.template or copy_args.template
    if copy_items is not None:
        gallery.items = list(copy_items.items)
    if master is not None:
        gallery.master = master.fid
        gallery.template, gallery.args = master.template, dict(master.args)
    state.emit(account.uid, "gallery.created", gallery_event(account, gallery, "gallery.created"))
    return {"fid": gallery.fid}


def gallery_set_meta(ctx: Ctx) -> Reply:
    p = ctx.params
    gallery = _gallery(ctx, p["fid"])
    if "name" in p:
        if not p["name"]:
            raise ApiFailure("name cannot be empty")
        gallery.name = p["name"]
    if "description" in p:
        gallery.description = p["description"]
    if "tags" in p:
        gallery.tags = csv(p["tags"])
    gallery.modified = ctx.state.now()
    ctx.state.emit(
        ctx.account.uid,
        "gallery.updated",
        gallery_event(ctx.account, gallery, "gallery.updated", "folders setAppData"),
    )
    return {}


def _delete_asset(ctx: Ctx, asset: Asset) -> None:
    account = ctx.account
    payload = asset_event(account, asset, "asset.deleted", ctx.base, "delete")
    for gallery in account.galleries.values():
        if asset.rid in gallery.items:
            gallery.items.remove(asset.rid)
    del account.assets[asset.rid]
    ctx.state.emit(account.uid, "asset.deleted", payload)


def gallery_delete(ctx: Ctx) -> Reply:
    """Delete ``fid``; S5 passes ``delete_assets=yes`` to delete the assets too."""
    p = ctx.params
    gallery = _gallery(ctx, p["fid"])
    if gallery.is_master:
        raise ApiFailure("cannot delete a master gallery")
    delete_assets = p.get("delete_assets", "no") == "yes"
    if delete_assets and not _token_grants(ctx.token, "asset.delete"):
        raise AuthFailure("token lacks permission asset.delete (needed by delete_assets=yes)")
    del ctx.account.galleries[gallery.fid]
    ctx.state.upload_tickets.pop(gallery.upload_ticket, None)
    if delete_assets:
        for rid in list(gallery.items):
            asset = ctx.account.assets.get(rid)
            if asset is not None:
                _delete_asset(ctx, asset)
    gallery.modified = ctx.state.now()
    ctx.state.emit(
        ctx.account.uid,
        "gallery.deleted",
        gallery_event(ctx.account, gallery, "gallery.deleted", "folders delete"),
    )
    return {}


def _token_grants(token: TokenRecord, scope: str) -> bool:
    return grants(token.permissions, scope)


def gallery_add_item(ctx: Ctx) -> Reply:
    """Add the comma list ``rid`` (S8 sends ``ids.join(",")``; numeric ids too, S5)."""
    p = ctx.params
    gallery = _gallery(ctx, p["fid"])
    rids = list(dict.fromkeys(_asset(ctx, rid).rid for rid in csv(p["rid"])))
    if not rids:
        raise ApiFailure("missing required parameter: rid")
    new = [rid for rid in rids if rid not in gallery.items]
    if p.get("insert_position", "bottom") == "top":
        gallery.items[:0] = new
    else:
        gallery.items.extend(new)
    now = ctx.state.now()
    gallery.modified = now
    for rid in new:
        asset = ctx.account.assets[rid]
        ctx.state.emit(
            ctx.account.uid,
            "asset.updated",
            asset_event(ctx.account, asset, "asset.updated", ctx.base, "folders addItem"),
        )
    ctx.state.emit(
        ctx.account.uid,
        "gallery.updated",
        gallery_event(ctx.account, gallery, "gallery.updated", "folders addItem"),
    )
    return {}


def gallery_remove_item(ctx: Ctx) -> Reply:
    p = ctx.params
    gallery = _gallery(ctx, p["fid"])
    rids = [canonical_rid(ctx.account, rid) for rid in csv(p["rid"])]  # numeric ids too (S5)
    if not rids:
        raise ApiFailure("missing required parameter: rid")
    missing = [rid for rid in rids if rid not in gallery.items]
    if missing:
        raise ApiFailure(f"not in gallery {gallery.fid}: {','.join(missing)}")
    removed = set(rids)
    gallery.items = [rid for rid in gallery.items if rid not in removed]
    gallery.modified = ctx.state.now()
    ctx.state.emit(
        ctx.account.uid,
        "gallery.updated",
        gallery_event(ctx.account, gallery, "gallery.updated", "folders removeItem"),
    )
    return {}


def gallery_list(ctx: Ctx) -> Reply:
    """Galleries, newest first. S5 finds its gallery with ``search=caption=rrid:<ref>`` and reads
    ``galleries[0].fid``; S8 pages with ``page`` and reads ``galleries[{fid, name}]``; S9 POSTs
    it with an empty body and reads ``galleries[].fid/name/description``; S10 reads
    ``workspace``, ``tag_cloud`` and ``items_data.page_count`` (spelt so here only)."""
    p = ctx.params
    page, per_page = _paging(p)
    galleries = sorted(ctx.account.galleries.values(), key=lambda g: g.seq, reverse=True)
    search = p.get("search", "").strip()
    if search:
        field_name, eq, value = search.partition("=")
        field_name = field_name.strip().lower()
        if eq and field_name in ("caption", "name"):
            galleries = [g for g in galleries if g.name.lower() == value.strip().lower()]
        elif eq and field_name == "tag":
            galleries = [g for g in galleries if value.strip() in g.tags]
        else:
            needle = search.lower()
            galleries = [
                g for g in galleries if needle in g.name.lower() or needle in g.description.lower()
            ]
    tags = csv(p.get("filter_tags"))
    include = {t for t in tags if not t.startswith("-")}
    exclude = {t[1:] for t in tags if t.startswith("-")}
    if include:
        galleries = [g for g in galleries if include.intersection(g.tags)]
    if exclude:
        galleries = [g for g in galleries if not exclude.intersection(g.tags)]
    chunk, data = _page(galleries, page, per_page)
    data["page_count"] = data.pop("pages_count")
    cloud: dict[str, int] = {}
    for gallery in ctx.account.galleries.values():
        for tag in gallery.tags:
            cloud[tag] = cloud.get(tag, 0) + 1
    return {
        "workspace": "default",
        "galleries": [render_gallery(ctx.state, g, ctx.base) for g in chunk],
        "tag_cloud": cloud,
        "items_data": data,
    }


def gallery_get_items(ctx: Ctx) -> Reply:
    """A gallery's items: S10 reads ``fid``, ``upload_url``, ``claimed``, ``spfid`` (non-empty
    strings) and ``folder.items``; S5 and S9 read ``folder.items_data.items_count``."""
    p = ctx.params
    gallery = _gallery(ctx, p["fid"])
    page, per_page = _paging(p)
    assets = [ctx.account.assets[r] for r in gallery.items if r in ctx.account.assets]
    chunk, data = _page(assets, page, per_page)
    return {
        "fid": gallery.fid,
        "upload_url": _gallery_upload_url(ctx.state, gallery, ctx.base),
        "claimed": "yes",
        "spfid": ctx.state.sign("spfid", gallery.fid)[:16],
        "folder": {"items": [render_asset(a, ctx.base) for a in chunk], "items_data": data},
    }


def gallery_set_master(ctx: Ctx) -> Reply:
    p = ctx.params
    master = _gallery(ctx, p["master"])
    fid = _opt(p, "fid")
    now = ctx.state.now()
    if fid is None:
        if master.master is not None:
            raise ApiFailure("a gallery linked to a master cannot become a master")
        master.is_master = True
        master.modified = now
        changed = master
    else:
        gallery = _gallery(ctx, fid)
        if not master.is_master:
            raise ApiFailure(f"gallery {master.fid} is not a master gallery")
        if gallery.fid == master.fid:
            raise ApiFailure("a gallery cannot be linked to itself")
        if gallery.is_master:
            raise ApiFailure("a master gallery cannot be linked to another master")
        gallery.master = master.fid
        gallery.template, gallery.args = master.template, dict(master.args)
        gallery.modified = now
        changed = gallery
    ctx.state.emit(
        ctx.account.uid,
        "gallery.updated",
        gallery_event(ctx.account, changed, "gallery.updated", "folders setMaster"),
    )
    return {}


def gallery_download(ctx: Ctx) -> Reply:
    gallery = _gallery(ctx, ctx.params["fid"])
    return {"url": f"{ctx.base}/download/{gallery.fid}.zip"}


# -- assets -------------------------------------------------------------------------------------

_ASSET_SEARCH_FIELDS = ("caption", "filename", "description", "reference_id", "type")


def asset_list(ctx: Ctx) -> Reply:
    """Assets, newest first. S1 pages with ``items_per_page=50&page=N`` and reads
    ``items_data.page``/``pages_count``, filters by ``rid``, ``search`` and ``tag``; S2 reads
    ``items[0]`` of ``rid=``; S7 POSTs ``search=tag=<tag>`` with ``cache=never``; S8 reads
    ``items[{rid, filename}]``."""
    p = ctx.params
    page, per_page = _paging(p)
    assets: Iterable[Asset] = sorted(ctx.account.assets.values(), key=lambda a: -a.seq)
    rids = csv(p.get("rid"))
    if rids:
        wanted = {canonical_rid(ctx.account, rid) for rid in rids}  # numeric ids too (S5)
        assets = [a for a in assets if a.rid in wanted]
    reference_id = p.get("reference_id")
    if reference_id:
        assets = [a for a in assets if a.reference_id == reference_id]
    tag = p.get("tag")
    if tag:
        assets = [a for a in assets if tag in a.tags]
    types = set(csv(p.get("type")))
    if types:
        assets = [a for a in assets if a.type in types]
    search = p.get("search", "").strip()
    if search:
        field_name, eq, value = search.partition("=")
        field_name, value = field_name.strip().lower(), value.strip()
        if eq and field_name == "tag":
            assets = [a for a in assets if value in a.tags]
        elif eq and field_name in _ASSET_SEARCH_FIELDS:
            low = value.lower()
            assets = [a for a in assets if low in str(getattr(a, field_name)).lower()]
        else:
            needle = search.lower()
            assets = [
                a
                for a in assets
                if needle in a.caption.lower()
                or needle in a.filename.lower()
                or needle in a.description.lower()
            ]
    chunk, data = _page(list(assets), page, per_page)
    return {"items": [render_asset(a, ctx.base) for a in chunk], "items_data": data}


def asset_get_tags(ctx: Ctx) -> Reply:
    """The tag cloud; S7 calls it with ``cache=never``."""
    cloud: dict[str, int] = {}
    for asset in ctx.account.assets.values():
        for tag in asset.tags:
            cloud[tag] = cloud.get(tag, 0) + 1
    return {"tag_cloud": cloud}


_ASSET_META = (
    "caption",
    "description",
    "long_description",
    "related_link_text",
    "related_link_url",
    "reference_id",
)


def asset_set_meta(ctx: Ctx) -> Reply:
    """Set the given fields only: S1/S2/S3 send just ``reference_id``, S2 the text fields, S5 a
    ``caption``, S7 ``caption``/``description``/``tags`` (with ``cache=never``, by POST with
    no body); the rid may be the numeric id (S5)."""
    p = ctx.params
    asset = _asset(ctx, p["rid"])
    for name in _ASSET_META:
        if name in p:
            setattr(asset, name, p[name])
    if "tags" in p:
        asset.tags = csv(p["tags"])
    asset.modified = ctx.state.now()
    ctx.state.emit(
        ctx.account.uid,
        "asset.updated",
        asset_event(ctx.account, asset, "asset.updated", ctx.base, "folders modifyItem"),
    )
    return {}


def asset_resync(ctx: Ctx) -> Reply:
    asset = _asset(ctx, ctx.params["rid"])
    asset.modified = ctx.state.now()
    asset.syncstatus = "synced"
    return {}


def asset_delete(ctx: Ctx) -> Reply:
    """Delete ``rid``, which may be the asset's numeric id: Moodle's grader passes word 3 of
    line 5 of the upload host's reply (S5). Live behaviour with a numeric id is unverified."""
    _delete_asset(ctx, _asset(ctx, ctx.params["rid"]))
    return {}


def _attach_target(ctx: Ctx) -> tuple[str | None, str | None, str | None]:
    p = ctx.params
    fid, rid, attach_type = _opt(p, "fid"), _opt(p, "rid"), _opt(p, "type")
    if fid is not None:
        _gallery(ctx, fid)
    if rid is not None:
        rid = _asset(ctx, rid).rid
        if attach_type is None:
            raise ApiFailure("type is required when rid is given")
    return fid, rid, attach_type


def asset_get_upload_url(ctx: Ctx) -> Reply:
    """``{upload_url}``: S1/S2/S3 call it with no other parameter and read ``upload_url``."""
    p = ctx.params
    fid, rid, attach_type = _attach_target(ctx)
    ttl = int(p["ttl"]) if p.get("ttl") else None
    if ttl is not None and ttl < 1:
        raise ApiFailure("ttl must be positive")
    ticket = ctx.state.new_upload_ticket(
        ctx.account.uid,
        fid=fid,
        rid=rid,
        attach_type=attach_type,
        ttl=ttl if ttl is not None else 86400,
        sourceip=_opt(p, "sourceip"),
    )
    return {"upload_url": ctx.state.upload_url(ctx.base, ticket)}


def asset_upload_from_url(ctx: Ctx) -> Reply:
    """Start an import: S8 passes ``input`` and ``fid`` and reads ``response.status_id``."""
    p = ctx.params
    url = p["input"]
    if not is_loopback_url(url):
        raise ApiFailure("the emulator only imports from loopback http(s) URLs")
    fid, rid, attach_type = _attach_target(ctx)
    state = ctx.state
    job = ImportJob(
        status_id=state.random_id(16, "0123456789abcdef"),
        uid=ctx.account.uid,
        input=url,
        created=state.now(),
        fid=fid,
        rid=rid,
        attach_type=attach_type,
    )
    ctx.account.imports[job.status_id] = job
    state.outbox.append(("import", ctx.account.uid, job.status_id, {"base": ctx.base}))
    return {"status_id": job.status_id}


def _job(ctx: Ctx) -> ImportJob:
    status_id = ctx.params["status_id"]
    job = ctx.account.imports.get(status_id)
    if job is None:
        raise ApiFailure(f"unknown status_id: {status_id}")
    return job


def asset_upload_from_url_get_status(ctx: Ctx) -> Reply:
    job = _job(ctx)
    if job.status == "done":
        progress = 100
    elif job.file_size_bytes > 0:
        progress = min(99, job.progress_bytes * 100 // job.file_size_bytes)
    else:
        progress = 0
    return {
        "status": job.status,
        "progress": str(progress),
        "progress_bytes": str(job.progress_bytes),
        "file_size_bytes": str(job.file_size_bytes),
        "resid": job.resid,
        "more": job.more,
        "debug": job.debug,
    }


def asset_upload_from_url_abort(ctx: Ctx) -> Reply:
    job = _job(ctx)
    if job.status in ("done", "failed"):
        raise ApiFailure(f"job already finished ({job.status})")
    if job.status != "aborted":
        job.status = "aborted"
        job.debug = "aborted by request"
        if job.cancel is not None:
            job.cancel()
    return {"status_id": job.status_id}


# -- upload -------------------------------------------------------------------------------------


def upload_iframe(ctx: Ctx) -> Reply:
    """The upload widget's page. S5 passes a v3 token with ``rrid=assign:<cm>:<user>``: the
    gallery named ``rrid:<ref>`` is created on first use, and found again by ``gallery.list``'s
    ``search=caption=rrid:<ref>``."""
    p = ctx.params
    fid = _opt(p, "fid")
    rrid = _opt(p, "rrid")
    if fid is not None:
        gallery = _gallery(ctx, fid)
    elif rrid is not None:
        name = f"rrid:{rrid}"
        found = [g for g in ctx.account.galleries.values() if g.name == name]
        if found:
            gallery = found[0]
        else:
            gallery = new_gallery(ctx.state, ctx.account, name)
            ctx.state.emit(
                ctx.account.uid,
                "gallery.created",
                gallery_event(ctx.account, gallery, "gallery.created"),
            )
    else:
        raise ApiFailure("fid or rrid is required")
    upload_url = _gallery_upload_url(ctx.state, gallery, ctx.base)
    view = p.get("view", "large")
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Cincopa uploader"
        "</title></head><body>"
        f"<div id='cincopa-uploader' data-fid='{gallery.fid}' data-view='{view}' "
        f"data-upload-url='{upload_url}'>Cincopa emulator upload widget</div></body></html>"
    )
    return {"__html__": html}


def upload_get_upload_token(ctx: Ctx) -> Reply:
    p = ctx.params
    fid = _opt(p, "fid")
    if fid is not None:
        _gallery(ctx, fid)
    ttl = int(p.get("ttl") or 86400)
    if ttl < 1:
        raise ApiFailure("ttl must be positive")
    ticket = ctx.state.new_upload_ticket(ctx.account.uid, fid=fid, ttl=ttl)
    return {"token": ticket.d, "upload_url": ctx.state.upload_url(ctx.base, ticket)}


# -- portals ------------------------------------------------------------------------------------

_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
_RESERVED = frozenset(
    [
        "www",
        "api",
        "admin",
        "mail",
        "media",
        "mediaupload",
        "app",
        "help",
        "support",
        "static",
        "cdn",
        "blog",
        "dev",
        "test",
    ]
)


def _subdomain(value: str) -> str:
    name = value.strip().lower()
    if not _SUBDOMAIN.match(name):
        raise ApiFailure(f"invalid subdomain: {value!r}")
    return name


def _available(state: EmulatorState, name: str) -> bool:
    return name not in _RESERVED and name not in state.portals


def _owned(ctx: Ctx, name: str) -> Portal:
    portal = ctx.state.portals.get(name)
    if portal is None or portal.owner != ctx.account.uid:
        raise ApiFailure(f"portal not found: {name}")
    return portal


def portal_check(ctx: Ctx) -> Reply:
    name = _subdomain(ctx.params["subdomain"])
    return {"subdomain": "available" if _available(ctx.state, name) else "taken"}


def portal_cease(ctx: Ctx) -> Reply:
    name = _subdomain(ctx.params["subdomain"])
    if not _available(ctx.state, name):
        raise ApiFailure(f"subdomain not available: {name}")
    now = ctx.state.now()
    ctx.state.portals[name] = Portal(name, ctx.account.uid, now, now)
    return {}


def portal_rename(ctx: Ctx) -> Reply:
    old = _subdomain(ctx.params["from"])
    new = _subdomain(ctx.params["to"])
    portal = _owned(ctx, old)
    if old == new:
        return {}
    if not _available(ctx.state, new):
        raise ApiFailure(f"subdomain not available: {new}")
    del ctx.state.portals[old]
    portal.subdomain = new
    portal.modified = ctx.state.now()
    ctx.state.portals[new] = portal
    return {}


def portal_remove(ctx: Ctx) -> Reply:
    name = _subdomain(ctx.params["subdomain"])
    _owned(ctx, name)
    del ctx.state.portals[name]
    return {}


def _simple_users(value: str) -> dict[str, str]:
    users: dict[str, str] = {}
    text = value.strip()
    entries: list[Any]
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except ValueError:
            raise ApiFailure("simple_user_add is not valid JSON") from None
        if not isinstance(entries, list):
            raise ApiFailure("simple_user_add must be a JSON array")
    else:
        entries = [e for e in (s.strip() for s in text.split(",")) if e]
    for entry in entries:
        if isinstance(entry, dict):
            user = entry.get("user") or entry.get("username")
            password = entry.get("password")
        elif isinstance(entry, str):
            user, sep, password = entry.partition(":")
            if not sep:
                password = None
        else:
            user = password = None
        if not isinstance(user, str) or not user or not isinstance(password, str) or not password:
            raise ApiFailure("simple_user_add entries must be user:password")
        users[user] = hashlib.sha256(password.encode()).hexdigest()
    return users


def _merge(current: list[str], add: str | None, remove: str | None) -> list[str]:
    result = list(current)
    for item in csv(add):
        if item not in result:
            result.append(item)
    drop = set(csv(remove))
    return [item for item in result if item not in drop]


def portal_set(ctx: Ctx) -> Reply:
    p = ctx.params
    name = _subdomain(p["subdomain"])
    args: dict[str, Any] | None = None
    if "args" in p:
        try:
            parsed = json.loads(p["args"]) if p["args"] else {}
        except ValueError:
            raise ApiFailure("args is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise ApiFailure("args must be a JSON object")
        args = parsed
    users = _simple_users(p["simple_user_add"]) if p.get("simple_user_add") else {}
    existing = ctx.state.portals.get(name)
    now = ctx.state.now()
    if existing is None:
        if not _available(ctx.state, name):
            raise ApiFailure(f"subdomain not available: {name}")
        portal = Portal(name, ctx.account.uid, now, now)
        ctx.state.portals[name] = portal
    elif existing.owner != ctx.account.uid:
        raise ApiFailure(f"subdomain not available: {name}")
    else:
        portal = existing
    if "template" in p:
        portal.template = p["template"]
    if args is not None:
        portal.args = args
    for key in ("allow_public", "cincopa_login", "cincopa_login_registration"):
        if key in p:
            setattr(portal, key, p[key])
    portal.cincopa_login_users = _merge(
        portal.cincopa_login_users,
        p.get("cincopa_login_user_add"),
        p.get("cincopa_login_user_remove"),
    )
    portal.cincopa_login_domains = _merge(
        portal.cincopa_login_domains,
        p.get("cincopa_login_domain_add"),
        p.get("cincopa_login_domain_remove"),
    )
    portal.google_openid_users = _merge(
        portal.google_openid_users,
        p.get("google_openid_user_add"),
        p.get("google_openid_user_remove"),
    )
    portal.google_openid_domains = _merge(
        portal.google_openid_domains,
        p.get("google_openid_domain_add"),
        p.get("google_openid_domain_remove"),
    )
    portal.simple_users.update(users)
    for user in csv(p.get("simple_user_remove")):
        portal.simple_users.pop(user, None)
    if "cname_domain" in p:
        portal.cname_domain = p["cname_domain"].strip().lower()
    portal.modified = now
    return {}


def render_portal(portal: Portal) -> Reply:
    return {
        "subdomain": portal.subdomain,
        "url": f"https://{portal.subdomain}.cincopa.com",
        "template": portal.template,
        "args": portal.args,
        "allow_public": portal.allow_public,
        "cincopa_login": portal.cincopa_login,
        "cincopa_login_registration": portal.cincopa_login_registration,
        "cincopa_login_users": ",".join(portal.cincopa_login_users),
        "cincopa_login_domains": ",".join(portal.cincopa_login_domains),
        "google_openid_users": ",".join(portal.google_openid_users),
        "google_openid_domains": ",".join(portal.google_openid_domains),
        "simple_users": ",".join(portal.simple_users),
        "cname_domain": portal.cname_domain,
        "created": iso(portal.created),
        "modified": iso(portal.modified),
    }


def portal_list(ctx: Ctx) -> Reply:
    wanted = ctx.params.get("subdomain", "").strip().lower()
    portals = [
        render_portal(portal)
        for portal in ctx.state.portals.values()
        if portal.owner == ctx.account.uid and (not wanted or portal.subdomain == wanted)
    ]
    return {"portals": portals}


# -- webhooks -----------------------------------------------------------------------------------

KNOWN_EVENTS = frozenset(
    {
        "gallery.created",
        "gallery.updated",
        "gallery.deleted",
        "gallery.synced",
        "asset.uploaded",
        "asset.updated",
        "asset.deleted",
        "account.traffic_usage",
        "account.settings",
        "lead.created",
        # Pipedream's events.mjs constants (S8), undocumented, never emitted by the emulator
        "gallery.claim",
        "gallery.sync",
        "asset.synced",
    }
)
_WILDCARDS = frozenset(
    {"*", "gallery.*", "asset.*", "account.*", "lead.*", "leads.*", "analytics.*"}  # S8
)


def _hook(ctx: Ctx, kind: str) -> Reply:
    p = ctx.params
    url = p["hook_url"].strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiFailure("hook_url must be an http(s) URL")
    events = csv(p["events"])
    if not events:
        raise ApiFailure("missing required parameter: events")
    for event in events:
        if event not in KNOWN_EVENTS and event not in _WILDCARDS:
            raise ApiFailure(f"unknown event: {event}")
    key = p.get("security_key") or None
    existing = ctx.account.webhooks.get(url)
    created = existing.created if existing else ctx.state.now()
    ctx.account.webhooks[url] = Webhook(url, tuple(events), kind, created, key)
    return {}


def webhook_set(ctx: Ctx) -> Reply:
    """Upsert the hook of ``hook_url``. ``events`` takes the documented names and namespaces
    and Pipedream's (S8: ``gallery.claim``, ``gallery.sync``, ``asset.synced``,
    ``analytics.*``, ``leads.*``); ``security_key`` is optional (S8 sends a uuid)."""
    return _hook(ctx, "webhook")


def webhook_set_slack(ctx: Ctx) -> Reply:
    return _hook(ctx, "slack")


def webhook_list(ctx: Ctx) -> Reply:
    hooks = sorted(ctx.account.webhooks.values(), key=lambda h: h.created)
    return {
        "webhooks": [
            {"hook_url": h.hook_url, "events": ",".join(h.events), "type": h.kind} for h in hooks
        ]
    }


def webhook_delete(ctx: Ctx) -> Reply:
    url = ctx.params["hook_url"].strip()
    if ctx.account.webhooks.pop(url, None) is None:
        raise ApiFailure("webhook not found")
    return {}


# -- live ---------------------------------------------------------------------------------------


def _stream(ctx: Ctx) -> LiveStream:
    stream = ctx.account.live.get(ctx.params["id"])
    if stream is None:
        raise ApiFailure(f"live stream not found: {ctx.params['id']}")
    return stream


def live_create(ctx: Ctx) -> Reply:
    p, state = ctx.params, ctx.state
    stream = LiveStream(
        id=state.random_id(),
        name=p.get("name", "") or "Live stream",
        description=p.get("description", ""),
        created=state.now(),
        stream_key=state.random_id(20),
    )
    ctx.account.live[stream.id] = stream
    return {"id": stream.id}


def live_list(ctx: Ctx) -> Reply:
    return {
        "live_streams": [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "status": s.status,
                "created": iso(s.created),
                "rtmp_url": f"rtmp://live.cincopa.localhost/live/{s.id}",
            }
            for s in sorted(ctx.account.live.values(), key=lambda s: s.created)
        ]
    }


def live_start(ctx: Ctx) -> Reply:
    _stream(ctx).status = "live"
    return {}


def live_stop(ctx: Ctx) -> Reply:
    _stream(ctx).status = "idle"
    return {}


def live_reset(ctx: Ctx) -> Reply:
    stream = _stream(ctx)
    stream.status = "idle"
    stream.stream_key = ctx.state.random_id(20)
    return {}


def live_delete(ctx: Ctx) -> Reply:
    del ctx.account.live[_stream(ctx).id]
    return {}


# -- accounts & tokens --------------------------------------------------------------------------


def account_list_sub(ctx: Ctx) -> Reply:
    """S5 reads ``sub_accounts[].account_name`` and ``.uid``."""
    subs = [ctx.state.accounts[uid] for uid in ctx.account.sub_accounts]
    return {"sub_accounts": [{"account_name": a.name, "uid": a.uid} for a in subs]}


def account_add_sub(ctx: Ctx) -> Reply:
    """S5 reads ``success`` and ``new_sub_account_uid``, else ``message``."""
    name = ctx.params["name"].strip()
    if ctx.account.parent is not None:
        raise ApiFailure("a sub-account cannot have sub-accounts")
    if any(ctx.state.accounts[uid].name == name for uid in ctx.account.sub_accounts):
        raise ApiFailure(f"sub-account already exists: {name}")
    account = ctx.state.new_account(name, parent=ctx.account.uid)
    return {"new_sub_account_uid": account.uid}


def _target_account(ctx: Ctx) -> Account:
    sub = _opt(ctx.params, "sub_account")
    if sub is None:
        return ctx.account
    if sub not in ctx.account.sub_accounts:
        raise ApiFailure(f"unknown sub-account: {sub}")
    return ctx.state.accounts[sub]


def token_list(ctx: Ctx) -> Reply:
    """The permanent tokens of the account (or of ``sub_account``): S5 reads
    ``tokens[].permissions`` and ``.api_token``."""
    account = _target_account(ctx)
    tokens = sorted(
        (t for t in ctx.state.tokens.values() if t.uid == account.uid and not t.temp),
        key=lambda t: t.created,
    )
    return {
        "tokens": [
            {"api_token": t.value, "permissions": t.permissions_text, "name": t.name}
            for t in tokens
        ]
    }


def token_create(ctx: Ctx) -> Reply:
    """A new permanent token: S5 creates ``permissions=asset.*|gallery.*`` tokens on a
    ``sub_account`` and reads ``api_token``."""
    p = ctx.params
    account = _target_account(ctx)
    scopes = [s for s in p["permissions"].split("|") if s]
    if not scopes:
        raise ApiFailure("missing required parameter: permissions")
    for scope in scopes:
        if not is_valid_scope(scope):
            raise ApiFailure(f"invalid permission: {scope}")
        if not scope_covers(ctx.token.permissions, scope):
            raise ApiFailure(f"permission not held by the calling token: {scope}")
    record = ctx.state.new_token(account.uid, "|".join(scopes), name=p["name"])
    return {"api_token": record.value}


HANDLERS: dict[str, Callable[[Ctx], Reply]] = {
    "ping": ping,
    "token.get_temp": token_get_temp,
    "gallery.create": gallery_create,
    "gallery.set_meta": gallery_set_meta,
    "gallery.delete": gallery_delete,
    "gallery.add_item": gallery_add_item,
    "gallery.remove_item": gallery_remove_item,
    "gallery.list": gallery_list,
    "gallery.get_items": gallery_get_items,
    "gallery.set_master": gallery_set_master,
    "gallery.download": gallery_download,
    "asset.list": asset_list,
    "asset.get_tags": asset_get_tags,
    "asset.set_meta": asset_set_meta,
    "asset.resync": asset_resync,
    "asset.delete": asset_delete,
    "asset.get_upload_url": asset_get_upload_url,
    "asset.upload_from_url": asset_upload_from_url,
    "asset.upload_from_url_get_status": asset_upload_from_url_get_status,
    "asset.upload_from_url_abort": asset_upload_from_url_abort,
    "upload.iframe": upload_iframe,
    "upload.get_upload_token": upload_get_upload_token,
    "portal.check": portal_check,
    "portal.cease": portal_cease,
    "portal.rename": portal_rename,
    "portal.remove": portal_remove,
    "portal.set": portal_set,
    "portal.list": portal_list,
    "webhook.list": webhook_list,
    "webhook.set": webhook_set,
    "webhook.set_slack": webhook_set_slack,
    "webhook.delete": webhook_delete,
    "live.create": live_create,
    "live.list": live_list,
    "live.start": live_start,
    "live.stop": live_stop,
    "live.reset": live_reset,
    "live.delete": live_delete,
    "account.list_sub": account_list_sub,
    "account.add_sub": account_add_sub,
    "token.list": token_list,
    "token.create": token_create,
}
