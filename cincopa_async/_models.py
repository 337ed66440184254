"""Reply models: what every Cincopa call returns, as plain immutable data.

Contract:

* Every class is ``@frozen(kw_only=True)`` and holds data only: no methods, validators or
  converters. Lists are tuples, JSON objects are ``Mapping``\\s.
* Every wire quirk (numbers sent as strings, comma-separated tags, ``page_count`` versus
  ``pages_count``, ``"yes"``/``"no"`` flags, PHP's ``[]`` for an empty object, ISO 8601 dates)
  is handled by the one converter in ``cincopa_async._converter``, never here.
* Each top-level reply derives from `Reply`. Its ``raw`` field holds the whole JSON object
  exactly as received, so fields these models do not know about are never lost.
* Fields the server may omit have defaults: ``""`` for text, ``None`` for numbers, flags,
  dates and ``Asset.thumbnail``, ``()`` for lists, ``{}`` for mappings, and the empty block
  for ``items_data`` and ``folder``. ``message`` is ``None`` unless the server sent one. The
  paging counters of `PagingInfo` are plain ints (``page`` 1, the rest 0), so "iterate while
  ``page < pages_count``" needs no ``None`` check and stops when paging is missing. Only
  ``Asset.rid`` and ``Gallery.fid`` are required.
* Secrets (issued tokens, self-authorising upload URLs) are left out of ``repr()`` (so is
  ``raw``; and every ``repr()`` is scrubbed of the secrets the SDK knows, ``_redact.KNOWN``)
  and marked ``SECRET`` in their metadata, by which the SDK adds
  the values a reply hands out to the secrets it scrubs from every log record and error.
* A docstring saying "inferred" marks a reply whose shape ``endpoints.json`` only guesses.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from ._redact import scrub

#: Metadata key marking a field whose value is a secret (a token, a self-authorising URL).
SECRET = "cincopa_async.secret"  # noqa: S105 - a metadata key, not a secret
_SECRET = {SECRET: True}

__all__ = [
    "Ack",
    "Asset",
    "AssetList",
    "AssetVersion",
    "DownloadLink",
    "Gallery",
    "GalleryCreated",
    "GalleryFolder",
    "GalleryItems",
    "GalleryList",
    "ImportJob",
    "ImportStatus",
    "LiveStream",
    "LiveStreamCreated",
    "LiveStreamList",
    "PagingInfo",
    "Ping",
    "Portal",
    "PortalAvailability",
    "PortalList",
    "Reply",
    "SubAccount",
    "SubAccountCreated",
    "SubAccountList",
    "TagCloud",
    "TempToken",
    "Thumbnail",
    "TokenCreated",
    "TokenInfo",
    "TokenList",
    "UploadToken",
    "UploadUrl",
    "Webhook",
    "WebhookList",
]


# Nested objects ---------------------------------------------------------------------------


@frozen(kw_only=True)
class PagingInfo:
    """Paging block ``items_data`` (wire: ``pages_count`` or ``page_count``); counters default 0."""

    page: int = 1
    items_per_page: int = 0
    items_count: int = 0
    pages_count: int = 0


@frozen(kw_only=True)
class Thumbnail:
    """An asset's thumbnail image."""

    url: str = ""


@frozen(kw_only=True)
class AssetVersion:
    """One rendition of an asset (``original``, ``mp4_hd``, ``jpg_600x450``, ...)."""

    url: str = ""
    filesize: int | None = None


@frozen(kw_only=True)
class Asset:
    """A media item, as listed by ``asset.list`` and ``gallery.get_items``."""

    rid: str
    id: str = ""
    type: str = ""
    filename: str = ""
    caption: str = ""
    description: str = ""
    long_description: str = ""
    related_link_text: str = ""
    related_link_url: str = ""
    reference_id: str = ""
    tags: tuple[str, ...] = ()
    uploaded: datetime | None = None
    modified: datetime | None = None
    uploaded_by: str = ""
    filesize: int | None = None
    syncstatus: str = ""
    storage: str = ""
    thumbnail: Thumbnail | None = None
    versions: Mapping[str, AssetVersion] = field(factory=dict)
    exif: Mapping[str, Any] = field(factory=dict)


@frozen(kw_only=True)
class Gallery:
    """A gallery, as listed by ``gallery.list``."""

    fid: str
    name: str = ""
    description: str = ""
    upload_url: str = field(default="", repr=False, metadata=_SECRET)  # self-authorising
    tags: tuple[str, ...] = ()
    modified: datetime | None = None
    syncstatus: str = ""


@frozen(kw_only=True)
class GalleryFolder:
    """The ``folder`` block of ``gallery.get_items``: one page of the gallery's assets."""

    items: tuple[Asset, ...] = ()
    items_data: PagingInfo = field(factory=PagingInfo)


@frozen(kw_only=True)
class Portal:
    """A hosted video portal (fields inferred from ``portal.set``'s parameters).

    The user and domain lists arrive comma-separated; ``simple_users`` holds user names only
    (passwords are never sent back).
    """

    subdomain: str = ""
    url: str = ""
    template: str = ""
    args: Mapping[str, Any] = field(factory=dict)
    allow_public: bool | None = None
    cincopa_login: bool | None = None
    cincopa_login_registration: str = ""
    cincopa_login_users: tuple[str, ...] = ()
    cincopa_login_domains: tuple[str, ...] = ()
    google_openid_users: tuple[str, ...] = ()
    google_openid_domains: tuple[str, ...] = ()
    simple_users: tuple[str, ...] = ()
    cname_domain: str = ""
    created: datetime | None = None
    modified: datetime | None = None


@frozen(kw_only=True)
class Webhook:
    """A registered webhook (shape inferred); ``events`` arrive as a comma-separated string."""

    hook_url: str = ""
    events: tuple[str, ...] = ()
    type: str = ""  # "webhook" or "slack" (inferred)


@frozen(kw_only=True)
class LiveStream:
    """A live stream (shape inferred from ``live.create``'s parameters)."""

    id: str = ""
    name: str = ""
    description: str = ""
    status: str = ""


@frozen(kw_only=True)
class SubAccount:
    """A sub-account of the calling account."""

    account_name: str = ""
    uid: str = ""


@frozen(kw_only=True)
class TokenInfo:
    """An API token of the account; ``permissions`` is pipe-separated, the token is hidden."""

    api_token: str = field(default="", repr=False, metadata=_SECRET)
    permissions: str = ""


# Top-level replies ------------------------------------------------------------------------


@frozen(kw_only=True)
class Reply:
    """Base of every top-level reply: the envelope plus the raw JSON object."""

    success: bool = True
    runtime: float | None = None
    raw: Mapping[str, Any] = field(factory=dict, repr=False, eq=False)


@frozen(kw_only=True)
class Ack(Reply):
    """Reply of a call that returns only the envelope (and ``message`` on some)."""

    message: str | None = None


@frozen(kw_only=True)
class Ping(Reply):
    """``ping``: the identity and scopes (pipe-separated ``permissions``) behind the token.

    Cincopa's own code reads only ``accid`` (REAL-CLIENTS.md S5); ``ping`` (``"pong"``),
    ``accid_num``/``userid_num`` (numbers) and ``revertid`` (a flag) are *inferred* from
    third-party schemas (S11), as are the formats of the other fields.
    """

    ping: str = ""
    accid: str = ""
    accid_num: int | None = None
    accemail: str = ""
    userid: str = ""
    userid_num: int | None = None
    useremail: str = ""
    permissions: str = ""
    ip: str = ""
    revertid: bool | None = None


@frozen(kw_only=True)
class TempToken(Reply):
    """``token.get_temp``: a temporary api_token (hidden from ``repr``)."""

    token: str = field(default="", repr=False, metadata=_SECRET)
    message: str | None = None


@frozen(kw_only=True)
class GalleryCreated(Reply):
    """``gallery.create``: the new gallery's fid."""

    fid: str = ""


@frozen(kw_only=True)
class GalleryList(Reply):
    """``gallery.list``: one page of galleries plus the gallery tag cloud."""

    workspace: str = ""
    galleries: tuple[Gallery, ...] = ()
    tag_cloud: Mapping[str, int] = field(factory=dict)
    items_data: PagingInfo = field(factory=PagingInfo)


@frozen(kw_only=True)
class GalleryItems(Reply):
    """``gallery.get_items``: a gallery's upload URL and one page of its assets.

    ``claimed`` is text as received: open-connector (REAL-CLIENTS.md S10) reads it as a
    non-empty string, and what its words mean (``"yes"`` in our examples) is *inferred*; the SDK
    does not read it as a flag, so no value of it can fail the reply.
    """

    fid: str = ""
    upload_url: str = field(default="", repr=False, metadata=_SECRET)  # self-authorising
    claimed: str = ""
    spfid: str = ""
    folder: GalleryFolder = field(factory=GalleryFolder)


@frozen(kw_only=True)
class AssetList(Reply):
    """``asset.list``: one page of assets."""

    items: tuple[Asset, ...] = ()
    items_data: PagingInfo = field(factory=PagingInfo)


@frozen(kw_only=True)
class TagCloud(Reply):
    """``asset.get_tags``: tag -> number of assets."""

    tag_cloud: Mapping[str, int] = field(factory=dict)


@frozen(kw_only=True)
class UploadUrl(Reply):
    """``asset.get_upload_url``: a self-authorising URL to POST a file to."""

    upload_url: str = field(default="", repr=False, metadata=_SECRET)  # self-authorising


@frozen(kw_only=True)
class ImportJob(Reply):
    """``asset.upload_from_url`` and its ``_abort``: the import job's id."""

    status_id: str = ""


@frozen(kw_only=True)
class ImportStatus(Reply):
    """``asset.upload_from_url_get_status``; ``file_size_bytes`` is -1 while unknown.

    ``progress`` is a percentage (0-100), a float: clients read it as text or any JSON number
    (REAL-CLIENTS.md S11: ``z.union([z.string(), z.number()])``); whether the live API ever
    sends a fraction is unknown.
    """

    status: str = ""
    progress: float | None = None
    progress_bytes: int | None = None
    file_size_bytes: int | None = None
    resid: str = ""
    more: str = ""
    debug: str = ""


@frozen(kw_only=True)
class UploadToken(Reply):
    """``upload.get_upload_token`` (inferred): an invite-upload token (hidden from ``repr``)."""

    token: str = field(default="", repr=False, metadata=_SECRET)
    upload_url: str = field(default="", repr=False, metadata=_SECRET)  # self-authorising


@frozen(kw_only=True)
class PortalAvailability(Reply):
    """``portal.check``: the availability word. The overview shows only ``"available"``;
    ``"taken"`` for a subdomain in use is *inferred* (the emulator answers so)."""

    subdomain: str = ""


@frozen(kw_only=True)
class PortalList(Reply):
    """``portal.list``: the account's portals."""

    portals: tuple[Portal, ...] = ()


@frozen(kw_only=True)
class WebhookList(Reply):
    """``webhook.list`` (inferred): the registered webhooks."""

    webhooks: tuple[Webhook, ...] = ()


@frozen(kw_only=True)
class LiveStreamCreated(Reply):
    """``live.create`` (inferred): the new stream's id."""

    id: str = ""


@frozen(kw_only=True)
class LiveStreamList(Reply):
    """``live.list`` (inferred, as is the wire key ``live_streams``): the account's live streams."""

    streams: tuple[LiveStream, ...] = ()


@frozen(kw_only=True)
class DownloadLink(Reply):
    """``gallery.download`` (inferred): a link to download the gallery."""

    url: str = ""


@frozen(kw_only=True)
class SubAccountList(Reply):
    """``account.list_sub``: the account's sub-accounts."""

    sub_accounts: tuple[SubAccount, ...] = ()


@frozen(kw_only=True)
class SubAccountCreated(Reply):
    """``account.add_sub``: the new sub-account's uid."""

    new_sub_account_uid: str = ""
    message: str | None = None


@frozen(kw_only=True)
class TokenList(Reply):
    """``token.list``: the account's API tokens (values hidden from ``repr``)."""

    tokens: tuple[TokenInfo, ...] = ()


@frozen(kw_only=True)
class TokenCreated(Reply):
    """``token.create``: the new API token (hidden from ``repr``)."""

    api_token: str = field(default="", repr=False, metadata=_SECRET)


def _scrubbed_repr(attrs_repr: Callable[[Any], str]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        return scrub(attrs_repr(self))

    return __repr__


for _name in __all__:  # shown as cincopa_async.Asset, where users import them from
    _model = globals()[_name]
    _model.__module__ = "cincopa_async"
    # A reply is data, kept as received; its repr is text, scrubbed of every secret the SDK
    # knows (a server may echo a token or a password into any field).
    _model.__repr__ = _scrubbed_repr(_model.__repr__)
del _name, _model
