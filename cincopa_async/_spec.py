"""The endpoint table: every Cincopa REST API v2 operation, as data.

This module is the single source of truth for the SDK's operations. ``tools/codegen.py`` renders it into
``_generated.py`` (typed resource methods), and ``AsyncCincopa._call`` reads it at run time to
validate and encode arguments and to decide whether a failed call may be retried. Adding an
operation is a data change here, followed by ``python tools/codegen.py``.

The facts come from ``cincopa-api/endpoints.json`` (the project's API reference). Where the
reference marks a fact as *inferred* (a guess, not seen in Cincopa's docs or in code calling the
live API), the ``Param``/``Endpoint`` carries ``inferred=True`` and the generated docstring says
so, so that it stays easy to find and to change.

The records are ``NamedTuple``s, which cost next to nothing to import (``import cincopa_async``
should stay close to ``import httpx``). Parameter kinds say what the *caller* means; the wire encoding is done by ``_encode``:

========  ===========================  ==========================================
kind      Python type                  wire form
========  ===========================  ==========================================
STR       ``str``                      as is
INT       ``int``                      decimal
CSV       ``Sequence[str]``            ``a,b,c`` (a plain ``str`` is sent as is)
PIPE      ``Sequence[str]``            ``a|b|c`` (permission scopes)
ENUM      ``Literal[...]``             as is, checked against ``choices``
YES_NO    ``bool``                     ``yes`` / ``no``
BOOL      ``bool``                     ``true``; False is left out (Cincopa's
                                       own code never sends ``false``, REAL-
                                       CLIENTS.md S5; how ``false`` reads:
                                       unknown)
JSON      ``Mapping[str, Any]``        compact JSON text
========  ===========================  ==========================================
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Mapping
from typing import Literal, NamedTuple

__all__ = [
    "ENDPOINTS",
    "ENDPOINTS_BY_NAME",
    "Endpoint",
    "PageLayout",
    "Param",
    "ParamKind",
]


class ParamKind(enum.Enum):
    """How a parameter is typed in Python and encoded on the wire (see the module docstring)."""

    STR = "str"
    INT = "int"
    CSV = "csv"
    PIPE = "pipe"
    ENUM = "enum"
    YES_NO = "yes_no"
    BOOL = "bool"
    JSON = "json"


STR = ParamKind.STR
INT = ParamKind.INT
CSV = ParamKind.CSV
PIPE = ParamKind.PIPE
ENUM = ParamKind.ENUM
YES_NO = ParamKind.YES_NO
BOOL = ParamKind.BOOL
JSON = ParamKind.JSON


class Param(NamedTuple):
    """One query-string parameter of an operation.

    ``wire`` is the name Cincopa uses; ``python_name`` is the keyword argument of the generated
    method: the wire name, except that a Python keyword gets a trailing underscore (``from`` ->
    ``from_``) and characters not allowed in identifiers become ``_`` (``disable-undo`` ->
    ``disable_undo``). ``secret`` values are redacted from URLs, logs and error messages.
    """

    wire: str
    kind: ParamKind
    required: bool = False
    choices: tuple[str, ...] = ()
    secret: bool = False
    inferred: bool = False
    doc: str = ""

    @property
    def python_name(self) -> str:
        name = self.wire.replace("-", "_")
        return f"{name}_" if keyword.iskeyword(name) else name


class PageLayout(NamedTuple):
    """Where a paged reply keeps its items and its paging info (dotted attribute paths).

    ``item`` names the model class of one item, for the generated return type.
    """

    items: str
    info: str
    item: str


class Endpoint(NamedTuple):
    """One operation: ``name`` is Cincopa's method name, e.g. ``"asset.set_meta"``.

    ``reply`` names the model class in ``_models`` that the reply is structured into.
    ``retry_safe`` operations may be retried after a failure that could have reached the server
    (a timeout, a dropped connection, 408, 5xx); the others only after failures that cannot have
    (connection refused, 429). ``pages`` is set on paged list operations. ``url_only`` marks an
    operation that is a URL to hand to a browser rather than a call (``upload.iframe``).
    """

    name: str
    method: Literal["GET", "POST"]
    reply: str
    summary: str
    params: tuple[Param, ...] = ()
    retry_safe: bool = False
    pages: PageLayout | None = None
    inferred: bool = False
    url_only: bool = False

    @property
    def resource(self) -> str:
        """The attribute of the client the method lives on; ``""`` for ``ping``."""
        return self.name.rpartition(".")[0]

    @property
    def action(self) -> str:
        return self.name.rpartition(".")[2]

    @property
    def path(self) -> str:
        """The path relative to the base URL: ``asset.list.json`` (``upload.iframe`` as is)."""
        return self.name if self.url_only else f"{self.name}.json"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "ping",
        "GET",
        reply="Ping",
        summary="Validate the token and return the identity/permissions behind it.",
        retry_safe=True,
    ),
    Endpoint(
        "token.get_temp",
        "GET",
        reply="TempToken",
        summary="Derive a short-lived temporary token from the calling (parent) token for client-side use.",
        params=(
            Param(
                "ttl",
                INT,
                doc="lifetime of the temporary token in seconds (Cincopa plugins pass 600)",
            ),
            Param("sourceip", STR, doc="restrict the temporary token to this IPv4 source address"),
            Param(
                "permissions",
                PIPE,
                inferred=True,
                doc="pipe-separated subset of the parent's permissions (mirrors the '!p' field of self-generated v3 tokens)",
            ),
            Param(
                "fid", STR, inferred=True, doc="restrict to one gallery (mirrors '!f' of v3 tokens)"
            ),
            Param(
                "rid", STR, inferred=True, doc="restrict to one asset (mirrors '!r' of v3 tokens)"
            ),
            Param(
                "host",
                STR,
                inferred=True,
                doc="restrict to a host/domain (mirrors '!h' of v3 tokens)",
            ),
        ),
        retry_safe=True,
    ),
    Endpoint(
        "gallery.create",
        "POST",
        reply="GalleryCreated",
        summary="Create a new gallery (optionally cloning settings/items from another gallery or linking to a master) and return its fid.",
        params=(
            Param("name", STR, required=True, doc="name of the new gallery"),
            Param("description", STR, doc="gallery description"),
            Param(
                "template",
                STR,
                doc="skin/template to apply; Cincopa's own UI passes the fid of a gallery whose template should be reused",
            ),
            Param(
                "copy_args",
                STR,
                doc="fid of a gallery whose customization settings (args) are copied",
            ),
            Param(
                "copy_items",
                STR,
                doc="fid of a gallery whose items are copied into the new gallery",
            ),
            Param("master", STR, doc="fid of a master gallery the new gallery should be linked to"),
        ),
    ),
    Endpoint(
        "gallery.set_meta",
        "POST",
        reply="Ack",
        summary="Update a gallery's metadata (name/description/tags).",
        params=(
            Param("fid", STR, required=True, inferred=True, doc="gallery to update"),
            Param("name", STR, inferred=True, doc="new gallery name"),
            Param("description", STR, inferred=True, doc="new description"),
            Param("tags", CSV, inferred=True, doc="comma-separated tags"),
        ),
        retry_safe=True,  # absolute set: re-applying gives the same state
        inferred=True,
    ),
    Endpoint(
        "gallery.delete",
        "POST",
        reply="Ack",
        summary="Delete a gallery, optionally deleting the assets it contains.",
        params=(
            Param("fid", STR, required=True, doc="gallery to delete"),
            Param(
                "delete_assets",
                YES_NO,
                doc="'yes' also deletes the gallery's assets from the library; otherwise assets stay in the library (the default without it inferred)",
            ),
        ),
    ),
    Endpoint(
        "gallery.add_item",
        "POST",
        reply="Ack",
        summary="Add one or more existing assets to a gallery.",
        params=(
            Param("fid", STR, required=True, doc="target gallery"),
            Param("rid", CSV, required=True, doc="asset rid, or several rids joined with commas"),
            Param(
                "insert_position",
                ENUM,
                choices=("top", "bottom"),
                doc="where new items are placed in the gallery order",
            ),
        ),
    ),
    Endpoint(
        "gallery.remove_item",
        "POST",
        reply="Ack",
        summary="Remove one or more assets from a gallery (assets stay in the library).",
        params=(
            Param("fid", STR, required=True, inferred=True, doc="gallery"),
            Param(
                "rid",
                CSV,
                required=True,
                inferred=True,
                doc="asset rid(s) to remove, comma-separated",
            ),
        ),
        inferred=True,
    ),
    Endpoint(
        "gallery.list",
        "GET",
        reply="GalleryList",
        summary="List (and search) the account's galleries with paging and a tag cloud.",
        params=(
            Param(
                "search",
                STR,
                doc="free-text search; field-scoped form 'caption=<gallery name>' is used by Cincopa's Moodle plugin",
            ),
            Param("page", INT, doc="1-based page number"),
            Param(
                "items_per_page",
                INT,
                doc="page size (third-party clients cap it at 100; server default unknown)",
            ),
            Param(
                "filter_tags",
                CSV,
                doc="comma-separated tags to include; prefix a tag with '-' to exclude it",
            ),
        ),
        retry_safe=True,
        pages=PageLayout(items="galleries", info="items_data", item="Gallery"),
    ),
    Endpoint(
        "gallery.get_items",
        "GET",
        reply="GalleryItems",
        summary="List the assets inside one gallery (paged).",
        params=(
            Param("fid", STR, required=True, doc="gallery id"),
            Param("page", INT, doc="1-based page number"),
            Param("items_per_page", INT, doc="page size"),
            Param("details", CSV, doc="comma-separated extra metadata fields to include per item"),
        ),
        retry_safe=True,
        pages=PageLayout(items="folder.items", info="folder.items_data", item="Asset"),
    ),
    Endpoint(
        "gallery.set_master",
        "POST",
        reply="Ack",
        summary="Mark a gallery as a master template, or link a gallery to a master so it inherits its look.",
        params=(
            Param("master", STR, required=True, doc="fid of the master gallery"),
            Param(
                "fid",
                STR,
                doc="gallery to link to the master; when omitted the call makes 'master' a master gallery",
            ),
        ),
    ),
    Endpoint(
        "asset.list",
        "GET",
        reply="AssetList",
        summary="List/search assets in the library (paged); also used to fetch one asset by rid.",
        params=(
            Param(
                "search",
                STR,
                doc="free-text search over asset metadata; field form 'tag=<tag>' also used",
            ),
            Param("rid", STR, doc="return only this asset (exact rid)"),
            Param("reference_id", STR, doc="exact match on reference_id"),
            Param("tag", STR, doc="filter by tag"),
            Param("type", CSV, doc="asset type filter, comma-separated (e.g. video,image)"),
            Param("details", CSV, doc="comma-separated extra metadata fields to include"),
            Param("page", INT, doc="1-based page"),
            Param("items_per_page", INT, doc="page size (Cincopa plugins use 50)"),
            Param(
                "cache",
                ENUM,
                choices=("never",),
                doc="'never' bypasses server-side caching (sent so by Cincopa's Chrome extension; effect inferred)",
            ),
        ),
        retry_safe=True,
        pages=PageLayout(items="items", info="items_data", item="Asset"),
    ),
    Endpoint(
        "asset.get_tags",
        "GET",
        reply="TagCloud",
        summary="Return the tag cloud of all asset tags with usage counts.",
        params=(
            Param(
                "cache",
                ENUM,
                choices=("never",),
                doc="'never' bypasses caching (sent so by Cincopa's Chrome extension; effect inferred)",
            ),
        ),
        retry_safe=True,
    ),
    Endpoint(
        "asset.set_meta",
        "POST",
        reply="Ack",
        summary="Update an asset's descriptive metadata.",
        params=(
            Param("rid", STR, required=True, doc="asset to update"),
            Param("caption", STR, doc="title/caption"),
            Param("description", STR, doc="short description"),
            Param("long_description", STR, doc="long description / notes"),
            Param("related_link_text", STR, doc="text of the related link"),
            Param("related_link_url", STR, doc="URL of the related link"),
            Param(
                "reference_id",
                STR,
                doc="caller-defined external reference (plugins write 'strapi', 'sanity', 'shopify')",
            ),
            Param(
                "tags",
                CSV,
                doc="comma-separated tags (replaces the tag set - replace vs merge unverified)",
            ),
            Param(
                "cache",
                ENUM,
                choices=("never",),
                doc="'never' bypasses caching (sent so by Cincopa's Chrome extension; effect inferred)",
            ),
        ),
        retry_safe=True,  # absolute set: re-applying gives the same state
    ),
    Endpoint(
        "asset.resync",
        "POST",
        reply="Ack",
        summary="Re-run processing/sync for an asset (e.g. regenerate renditions).",
        params=(Param("rid", STR, required=True, inferred=True, doc="asset to resync"),),
        inferred=True,
    ),
    Endpoint(
        "asset.delete",
        "POST",
        reply="Ack",
        summary="Delete an asset from the library.",
        params=(Param("rid", STR, required=True, doc="asset to delete"),),
    ),
    Endpoint(
        "asset.get_upload_url",
        "GET",
        reply="UploadUrl",
        summary="Get a short-lived upload URL to which files are POSTed (optionally targeting a gallery or attaching to an existing asset).",
        params=(
            Param("fid", STR, doc="gallery the uploaded asset is added to"),
            Param("rid", STR, doc="existing asset to attach the upload to (needs 'type')"),
            Param(
                "type",
                STR,
                doc="attachment type when rid is given, e.g. 'thumb' or 'subtitle-en-us'",
            ),
            Param("ttl", INT, doc="validity of the upload URL in seconds"),
            Param("sourceip", STR, doc="restrict uploads to this client IP"),
        ),
        retry_safe=True,
    ),
    Endpoint(
        "asset.upload_from_url",
        "POST",
        reply="ImportJob",
        summary="Ask Cincopa to fetch a file from a public URL; returns a status_id to poll.",
        params=(
            Param("input", STR, required=True, doc="public URL of the source file"),
            Param("fid", STR, doc="gallery to add the new asset to"),
            Param("rid", STR, doc="existing asset to attach the fetched file to (requires type)"),
            Param(
                "type",
                STR,
                doc="attachment type when rid is given (e.g. 'thumb' to set a video poster)",
            ),
        ),
    ),
    Endpoint(
        "asset.upload_from_url_get_status",
        "GET",
        reply="ImportStatus",
        summary="Poll the progress of an upload_from_url job.",
        params=(
            Param("status_id", STR, required=True, doc="id returned by asset.upload_from_url"),
        ),
        retry_safe=True,
    ),
    Endpoint(
        "asset.upload_from_url_abort",
        "POST",
        reply="ImportJob",
        summary="Abort an in-progress upload_from_url job.",
        params=(
            Param("status_id", STR, required=True, doc="id returned by asset.upload_from_url"),
        ),
    ),
    Endpoint(
        "upload.iframe",
        "GET",
        reply="",
        summary="Return an HTML page (for an <iframe>) with Cincopa's upload/record widget bound to a gallery.",
        params=(
            Param("fid", STR, doc="gallery receiving uploads"),
            Param(
                "rrid",
                STR,
                doc="reference id of a gallery to create/use (e.g. 'assign:<cmid>:<userid>'); galleries made this way are named 'rrid:<value>'",
            ),
            Param(
                "view",
                ENUM,
                choices=("large", "small", "list"),
                doc="thumbnail/list layout of the widget",
            ),
            Param("allow", STR, doc="allowed asset types ('all' or a type list)"),
            Param("allowExtensions", STR, doc="allowed file extensions ('all' or a list)"),
            Param(
                "disable_mobile_app",
                BOOL,
                doc="hide the mobile-app upload option; False is left out, not sent as 'false' (see BOOL)",
            ),
            Param(
                "disable-undo",
                BOOL,
                doc="disable undo in the widget; False is left out, not sent as 'false' (see BOOL)",
            ),
            Param(
                "disable_href",
                BOOL,
                doc="disable links inside the widget; False is left out, not sent as 'false' (see BOOL)",
            ),
        ),
        url_only=True,
    ),
    Endpoint(
        "upload.get_upload_token",
        "GET",
        reply="UploadToken",
        summary="Create an 'invite' upload token that lets a third party upload into the account (e.g. into one gallery) without a full API token.",
        params=(
            Param("fid", STR, inferred=True, doc="gallery the invited uploads go to"),
            Param("ttl", INT, inferred=True, doc="lifetime in seconds"),
        ),
        retry_safe=True,
        inferred=True,
    ),
    Endpoint(
        "portal.check",
        "GET",
        reply="PortalAvailability",
        summary="Check whether a portal subdomain is available.",
        params=(Param("subdomain", STR, required=True, doc="subdomain name to check"),),
        retry_safe=True,
    ),
    Endpoint(
        "portal.cease",
        "POST",
        reply="Ack",
        summary=(
            "Claim (create) a portal subdomain if it is available. The overview's summary table"
            " calls this 'deactivate/cease an existing portal', but its detailed section and"
            " example create the subdomain if available; the SDK documents both readings."
        ),
        params=(
            Param(
                "subdomain",
                STR,
                required=True,
                doc="subdomain to claim (the detailed section's curl example passes it)",
            ),
        ),
    ),
    Endpoint(
        "portal.rename",
        "POST",
        reply="Ack",
        summary="Rename an existing portal subdomain.",
        params=(
            Param(
                "from",
                STR,
                required=True,
                doc="existing subdomain (must exist and be owned by the caller); passed as `from_`",
            ),
            Param(
                "to",
                STR,
                required=True,
                doc="new subdomain; must follow the naming rules and not be taken, else an error",
            ),
        ),
    ),
    Endpoint(
        "portal.remove",
        "POST",
        reply="Ack",
        summary="Delete a portal subdomain permanently (irreversible).",
        params=(Param("subdomain", STR, required=True, doc="subdomain to remove"),),
    ),
    Endpoint(
        "portal.set",
        "POST",
        reply="Ack",
        summary="Create or update a portal's configuration: template, access rules, login methods, user lists, CNAME mapping.",
        params=(
            Param("subdomain", STR, required=True, doc="portal subdomain; unique across Cincopa"),
            Param("template", STR, doc="path of a predefined template, e.g. /templates/corporate"),
            Param(
                "args",
                JSON,
                doc="JSON object string of extra template settings; invalid JSON is an error (validate client-side)",
            ),
            Param("allow_public", YES_NO, doc="public access; any other value is rejected"),
            Param("cincopa_login", YES_NO, doc="require Cincopa login"),
            Param(
                "cincopa_login_registration",
                ENUM,
                choices=("anyone", "restricted", "off"),
                doc="registration policy when Cincopa login is on",
            ),
            Param("cincopa_login_user_add", CSV, doc="emails allowed via Cincopa login"),
            Param("cincopa_login_user_remove", CSV, doc="emails to remove from that list"),
            Param("cincopa_login_domain_add", CSV, doc="email domains allowed via Cincopa login"),
            Param("cincopa_login_domain_remove", CSV, doc="domains to remove"),
            Param("google_openid_user_add", CSV, doc="emails allowed via Google OpenID"),
            Param("google_openid_user_remove", CSV, doc="emails to remove"),
            Param("google_openid_domain_add", CSV, doc="Google domains allowed"),
            Param("google_openid_domain_remove", CSV, doc="Google domains to remove"),
            Param(
                "simple_user_add",
                STR,
                secret=True,
                doc="users as CSV 'user:password' pairs or a JSON array (secret: never log it)",
            ),
            Param("simple_user_remove", CSV, doc="user names to remove"),
            Param(
                "cname_domain",
                STR,
                doc="custom domain CNAME'd to <subdomain>.cincopa.com; DNS must be set first",
            ),
        ),
        retry_safe=True,  # absolute set: re-applying gives the same state
    ),
    Endpoint(
        "portal.list",
        "GET",
        reply="PortalList",
        summary="List portals, optionally filtered by subdomain.",
        params=(Param("subdomain", STR, doc="optional filter"),),
        retry_safe=True,
    ),
    Endpoint(
        "webhook.list",
        "GET",
        reply="WebhookList",
        summary="List the webhooks registered on the account.",
        retry_safe=True,
        inferred=True,
    ),
    Endpoint(
        "webhook.set",
        "POST",
        reply="Ack",
        summary="Create or update a webhook subscription (an upsert by hook_url: inferred).",
        params=(
            Param(
                "hook_url", STR, required=True, doc="receiver URL; events are POSTed here as JSON"
            ),
            Param(
                "events",
                CSV,
                required=True,
                doc="event names or namespaces (e.g. 'asset.uploaded' or 'asset.*'); several are sent comma-separated (inferred: Cincopa's clients send one)",
            ),
            Param(
                "security_key",
                STR,
                secret=True,
                doc="shared secret associated with the hook (delivery/signing mechanism undocumented)",
            ),
        ),
        retry_safe=True,  # absolute set: re-applying gives the same state
    ),
    Endpoint(
        "webhook.set_slack",
        "POST",
        reply="Ack",
        summary="Create or update a webhook that posts event notifications into Slack (via a Slack incoming-webhook URL).",
        params=(
            Param(
                "hook_url",
                STR,
                required=True,
                inferred=True,
                doc="Slack incoming-webhook URL (param name inferred by analogy with webhook.set)",
            ),
            Param(
                "events", CSV, required=True, inferred=True, doc="event names/namespaces to forward"
            ),
        ),
        retry_safe=True,  # absolute set: re-applying gives the same state
        inferred=True,
    ),
    Endpoint(
        "webhook.delete",
        "POST",
        reply="Ack",
        summary="Delete a webhook subscription identified by its URL.",
        params=(Param("hook_url", STR, required=True, doc="URL of the hook to delete"),),
        # Not retry-safe: the state converges, but a second send of a delete that was applied
        # answers "webhook not found" (an error) to a delete that succeeded (as asset.delete).
    ),
    Endpoint(
        "live.create",
        "GET",
        reply="LiveStreamCreated",
        summary="Create a live stream.",
        params=(
            Param("name", STR, inferred=True, doc="stream name (inferred)"),
            Param("description", STR, inferred=True, doc="(inferred)"),
        ),
        inferred=True,
    ),
    Endpoint(
        "live.list",
        "GET",
        reply="LiveStreamList",
        summary="List live streams.",
        retry_safe=True,
        inferred=True,
    ),
    Endpoint(
        "live.start",
        "GET",
        reply="Ack",
        summary="Start a live stream.",
        params=(
            Param(
                "id",
                STR,
                required=True,
                inferred=True,
                doc="stream id (param name unknown; 'stream_id' also plausible)",
            ),
        ),
        inferred=True,
    ),
    Endpoint(
        "live.stop",
        "GET",
        reply="Ack",
        summary="Stop a live stream.",
        params=(
            Param(
                "id",
                STR,
                required=True,
                inferred=True,
                doc="stream id (param name unknown; 'stream_id' also plausible)",
            ),
        ),
        inferred=True,
    ),
    Endpoint(
        "live.reset",
        "GET",
        reply="Ack",
        summary="Reset a live stream.",
        params=(
            Param(
                "id",
                STR,
                required=True,
                inferred=True,
                doc="stream id (param name unknown; 'stream_id' also plausible)",
            ),
        ),
        inferred=True,
    ),
    Endpoint(
        "live.delete",
        "GET",
        reply="Ack",
        summary="Delete a live stream.",
        params=(
            Param(
                "id",
                STR,
                required=True,
                inferred=True,
                doc="stream id (param name unknown; 'stream_id' also plausible)",
            ),
        ),
        inferred=True,
    ),
    Endpoint(
        "gallery.download",
        "GET",
        reply="DownloadLink",
        summary="Get a download link (archive) for a gallery's files.",
        params=(Param("fid", STR, required=True, inferred=True, doc="gallery id"),),
        retry_safe=True,
        inferred=True,
    ),
    Endpoint(
        "account.list_sub",
        "GET",
        reply="SubAccountList",
        summary="List sub-accounts of the calling account.",
        retry_safe=True,
    ),
    Endpoint(
        "account.add_sub",
        "GET",
        reply="SubAccountCreated",
        summary="Create a sub-account.",
        params=(Param("name", STR, required=True, doc="sub-account name"),),
    ),
    Endpoint(
        "token.list",
        "GET",
        reply="TokenList",
        summary="List API tokens (optionally of a sub-account).",
        params=(Param("sub_account", STR, doc="sub-account uid"),),
        retry_safe=True,
    ),
    Endpoint(
        "token.create",
        "GET",
        reply="TokenCreated",
        summary="Create an API token with given permissions (optionally in a sub-account).",
        params=(
            Param("name", STR, required=True, doc="token name"),
            Param(
                "permissions",
                PIPE,
                required=True,
                doc="pipe-separated scopes, e.g. 'asset.*|gallery.*'",
            ),
            Param("sub_account", STR, doc="sub-account uid"),
        ),
    ),
)

ENDPOINTS_BY_NAME: Mapping[str, Endpoint] = {endpoint.name: endpoint for endpoint in ENDPOINTS}
