# Generated from cincopa_async/_spec.py by "python tools/codegen.py". Do not edit.
"""Typed coroutine methods for every Cincopa operation, rendered from the endpoint table.

Each method checks nothing and decides nothing: it names its operation and hands its
arguments, keyed by wire name, to the client's one request path; ``cast`` only tells
type checkers which reply model that path returns for the operation.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:  # the models load on the first call, not on import
    from ._models import (
        Ack,
        Asset,
        AssetList,
        DownloadLink,
        Gallery,
        GalleryCreated,
        GalleryItems,
        GalleryList,
        ImportJob,
        ImportStatus,
        LiveStreamCreated,
        LiveStreamList,
        Ping,
        PortalAvailability,
        PortalList,
        SubAccountCreated,
        SubAccountList,
        TagCloud,
        TempToken,
        TokenCreated,
        TokenList,
        UploadToken,
        UploadUrl,
        WebhookList,
    )
    from ._paging import AsyncPager

__all__ = [
    "AccountResource",
    "AssetResource",
    "ClientOperations",
    "GalleryResource",
    "LiveResource",
    "PortalResource",
    "TokenResource",
    "UploadResource",
    "WebhookResource",
]


class AccountResource:
    """The `account.*` operations, as `client.account.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    async def list_sub(self) -> SubAccountList:
        """List sub-accounts of the calling account.

        `GET /v2/account.list_sub.json`
        """
        return cast(
            "SubAccountList",
            await self._client._call(
                "account.list_sub",
                {},
            ),
        )

    async def add_sub(
        self,
        *,
        name: str,
    ) -> SubAccountCreated:
        """Create a sub-account.

        `GET /v2/account.add_sub.json`

        Args:
            name: sub-account name.
        """
        return cast(
            "SubAccountCreated",
            await self._client._call(
                "account.add_sub",
                {
                    "name": name,
                },
            ),
        )


class AssetResource:
    """The `asset.*` operations, as `client.asset.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    def list(
        self,
        *,
        search: str | None = None,
        rid: str | None = None,
        reference_id: str | None = None,
        tag: str | None = None,
        type: Sequence[str] | None = None,
        details: Sequence[str] | None = None,
        page: int | None = None,
        items_per_page: int | None = None,
        cache: Literal["never"] | None = None,
    ) -> AsyncPager[AssetList, Asset]:
        """List/search assets in the library (paged); also used to fetch one asset by rid.

        `GET /v2/asset.list.json`

        Await the result for one page; iterate it with `async for` for every item of every page,
        starting at `page` (default 1).

        Args:
            search: free-text search over asset metadata; field form 'tag=<tag>' also used.
            rid: return only this asset (exact rid).
            reference_id: exact match on reference_id.
            tag: filter by tag.
            type: asset type filter, comma-separated (e.g. video,image) (sent comma-separated).
            details: comma-separated extra metadata fields to include (sent comma-separated).
            page: 1-based page.
            items_per_page: page size (Cincopa plugins use 50).
            cache: 'never' bypasses server-side caching (sent so by Cincopa's Chrome extension;
                effect inferred).
        """
        return cast(
            "AsyncPager[AssetList, Asset]",
            self._client._paginate(
                "asset.list",
                {
                    "search": search,
                    "rid": rid,
                    "reference_id": reference_id,
                    "tag": tag,
                    "type": type,
                    "details": details,
                    "page": page,
                    "items_per_page": items_per_page,
                    "cache": cache,
                },
            ),
        )

    async def get_tags(
        self,
        *,
        cache: Literal["never"] | None = None,
    ) -> TagCloud:
        """Return the tag cloud of all asset tags with usage counts.

        `GET /v2/asset.get_tags.json`

        Args:
            cache: 'never' bypasses caching (sent so by Cincopa's Chrome extension; effect
                inferred).
        """
        return cast(
            "TagCloud",
            await self._client._call(
                "asset.get_tags",
                {
                    "cache": cache,
                },
            ),
        )

    async def set_meta(
        self,
        *,
        rid: str,
        caption: str | None = None,
        description: str | None = None,
        long_description: str | None = None,
        related_link_text: str | None = None,
        related_link_url: str | None = None,
        reference_id: str | None = None,
        tags: Sequence[str] | None = None,
        cache: Literal["never"] | None = None,
    ) -> Ack:
        """Update an asset's descriptive metadata.

        `POST /v2/asset.set_meta.json`

        Args:
            rid: asset to update.
            caption: title/caption.
            description: short description.
            long_description: long description / notes.
            related_link_text: text of the related link.
            related_link_url: URL of the related link.
            reference_id: caller-defined external reference (plugins write 'strapi', 'sanity',
                'shopify').
            tags: comma-separated tags (replaces the tag set - replace vs merge unverified)
                (sent comma-separated).
            cache: 'never' bypasses caching (sent so by Cincopa's Chrome extension; effect
                inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "asset.set_meta",
                {
                    "rid": rid,
                    "caption": caption,
                    "description": description,
                    "long_description": long_description,
                    "related_link_text": related_link_text,
                    "related_link_url": related_link_url,
                    "reference_id": reference_id,
                    "tags": tags,
                    "cache": cache,
                },
            ),
        )

    async def resync(
        self,
        *,
        rid: str,
    ) -> Ack:
        """Re-run processing/sync for an asset (e.g. regenerate renditions).

        `POST /v2/asset.resync.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            rid: asset to resync (inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "asset.resync",
                {
                    "rid": rid,
                },
            ),
        )

    async def delete(
        self,
        *,
        rid: str,
    ) -> Ack:
        """Delete an asset from the library.

        `POST /v2/asset.delete.json`

        Args:
            rid: asset to delete.
        """
        return cast(
            "Ack",
            await self._client._call(
                "asset.delete",
                {
                    "rid": rid,
                },
            ),
        )

    async def get_upload_url(
        self,
        *,
        fid: str | None = None,
        rid: str | None = None,
        type: str | None = None,
        ttl: int | None = None,
        sourceip: str | None = None,
    ) -> UploadUrl:
        """Get a short-lived upload URL to which files are POSTed (optionally targeting a
        gallery or attaching to an existing asset).

        `GET /v2/asset.get_upload_url.json`

        Args:
            fid: gallery the uploaded asset is added to.
            rid: existing asset to attach the upload to (needs 'type').
            type: attachment type when rid is given, e.g. 'thumb' or 'subtitle-en-us'.
            ttl: validity of the upload URL in seconds.
            sourceip: restrict uploads to this client IP.
        """
        return cast(
            "UploadUrl",
            await self._client._call(
                "asset.get_upload_url",
                {
                    "fid": fid,
                    "rid": rid,
                    "type": type,
                    "ttl": ttl,
                    "sourceip": sourceip,
                },
            ),
        )

    async def upload_from_url(
        self,
        *,
        input: str,
        fid: str | None = None,
        rid: str | None = None,
        type: str | None = None,
    ) -> ImportJob:
        """Ask Cincopa to fetch a file from a public URL; returns a status_id to poll.

        `POST /v2/asset.upload_from_url.json`

        Args:
            input: public URL of the source file.
            fid: gallery to add the new asset to.
            rid: existing asset to attach the fetched file to (requires type).
            type: attachment type when rid is given (e.g. 'thumb' to set a video poster).
        """
        return cast(
            "ImportJob",
            await self._client._call(
                "asset.upload_from_url",
                {
                    "input": input,
                    "fid": fid,
                    "rid": rid,
                    "type": type,
                },
            ),
        )

    async def upload_from_url_get_status(
        self,
        *,
        status_id: str,
    ) -> ImportStatus:
        """Poll the progress of an upload_from_url job.

        `GET /v2/asset.upload_from_url_get_status.json`

        Args:
            status_id: id returned by asset.upload_from_url.
        """
        return cast(
            "ImportStatus",
            await self._client._call(
                "asset.upload_from_url_get_status",
                {
                    "status_id": status_id,
                },
            ),
        )

    async def upload_from_url_abort(
        self,
        *,
        status_id: str,
    ) -> ImportJob:
        """Abort an in-progress upload_from_url job.

        `POST /v2/asset.upload_from_url_abort.json`

        Args:
            status_id: id returned by asset.upload_from_url.
        """
        return cast(
            "ImportJob",
            await self._client._call(
                "asset.upload_from_url_abort",
                {
                    "status_id": status_id,
                },
            ),
        )


class GalleryResource:
    """The `gallery.*` operations, as `client.gallery.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    async def create(
        self,
        *,
        name: str,
        description: str | None = None,
        template: str | None = None,
        copy_args: str | None = None,
        copy_items: str | None = None,
        master: str | None = None,
    ) -> GalleryCreated:
        """Create a new gallery (optionally cloning settings/items from another gallery or
        linking to a master) and return its fid.

        `POST /v2/gallery.create.json`

        Args:
            name: name of the new gallery.
            description: gallery description.
            template: skin/template to apply; Cincopa's own UI passes the fid of a gallery whose
                template should be reused.
            copy_args: fid of a gallery whose customization settings (args) are copied.
            copy_items: fid of a gallery whose items are copied into the new gallery.
            master: fid of a master gallery the new gallery should be linked to.
        """
        return cast(
            "GalleryCreated",
            await self._client._call(
                "gallery.create",
                {
                    "name": name,
                    "description": description,
                    "template": template,
                    "copy_args": copy_args,
                    "copy_items": copy_items,
                    "master": master,
                },
            ),
        )

    async def set_meta(
        self,
        *,
        fid: str,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> Ack:
        """Update a gallery's metadata (name/description/tags).

        `POST /v2/gallery.set_meta.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            fid: gallery to update (inferred).
            name: new gallery name (inferred).
            description: new description (inferred).
            tags: comma-separated tags (sent comma-separated; inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "gallery.set_meta",
                {
                    "fid": fid,
                    "name": name,
                    "description": description,
                    "tags": tags,
                },
            ),
        )

    async def delete(
        self,
        *,
        fid: str,
        delete_assets: bool | None = None,
    ) -> Ack:
        """Delete a gallery, optionally deleting the assets it contains.

        `POST /v2/gallery.delete.json`

        Args:
            fid: gallery to delete.
            delete_assets: 'yes' also deletes the gallery's assets from the library; otherwise
                assets stay in the library (the default without it inferred) (sent as yes/no).
        """
        return cast(
            "Ack",
            await self._client._call(
                "gallery.delete",
                {
                    "fid": fid,
                    "delete_assets": delete_assets,
                },
            ),
        )

    async def add_item(
        self,
        *,
        fid: str,
        rid: Sequence[str],
        insert_position: Literal["top", "bottom"] | None = None,
    ) -> Ack:
        """Add one or more existing assets to a gallery.

        `POST /v2/gallery.add_item.json`

        Args:
            fid: target gallery.
            rid: asset rid, or several rids joined with commas (sent comma-separated).
            insert_position: where new items are placed in the gallery order.
        """
        return cast(
            "Ack",
            await self._client._call(
                "gallery.add_item",
                {
                    "fid": fid,
                    "rid": rid,
                    "insert_position": insert_position,
                },
            ),
        )

    async def remove_item(
        self,
        *,
        fid: str,
        rid: Sequence[str],
    ) -> Ack:
        """Remove one or more assets from a gallery (assets stay in the library).

        `POST /v2/gallery.remove_item.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            fid: gallery (inferred).
            rid: asset rid(s) to remove, comma-separated (sent comma-separated; inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "gallery.remove_item",
                {
                    "fid": fid,
                    "rid": rid,
                },
            ),
        )

    def list(
        self,
        *,
        search: str | None = None,
        page: int | None = None,
        items_per_page: int | None = None,
        filter_tags: Sequence[str] | None = None,
    ) -> AsyncPager[GalleryList, Gallery]:
        """List (and search) the account's galleries with paging and a tag cloud.

        `GET /v2/gallery.list.json`

        Await the result for one page; iterate it with `async for` for every item of every page,
        starting at `page` (default 1).

        Args:
            search: free-text search; field-scoped form 'caption=<gallery name>' is used by
                Cincopa's Moodle plugin.
            page: 1-based page number.
            items_per_page: page size (third-party clients cap it at 100; server default
                unknown).
            filter_tags: comma-separated tags to include; prefix a tag with '-' to exclude it
                (sent comma-separated).
        """
        return cast(
            "AsyncPager[GalleryList, Gallery]",
            self._client._paginate(
                "gallery.list",
                {
                    "search": search,
                    "page": page,
                    "items_per_page": items_per_page,
                    "filter_tags": filter_tags,
                },
            ),
        )

    def get_items(
        self,
        *,
        fid: str,
        page: int | None = None,
        items_per_page: int | None = None,
        details: Sequence[str] | None = None,
    ) -> AsyncPager[GalleryItems, Asset]:
        """List the assets inside one gallery (paged).

        `GET /v2/gallery.get_items.json`

        Await the result for one page; iterate it with `async for` for every item of every page,
        starting at `page` (default 1).

        Args:
            fid: gallery id.
            page: 1-based page number.
            items_per_page: page size.
            details: comma-separated extra metadata fields to include per item (sent
                comma-separated).
        """
        return cast(
            "AsyncPager[GalleryItems, Asset]",
            self._client._paginate(
                "gallery.get_items",
                {
                    "fid": fid,
                    "page": page,
                    "items_per_page": items_per_page,
                    "details": details,
                },
            ),
        )

    async def set_master(
        self,
        *,
        master: str,
        fid: str | None = None,
    ) -> Ack:
        """Mark a gallery as a master template, or link a gallery to a master so it inherits its
        look.

        `POST /v2/gallery.set_master.json`

        Args:
            master: fid of the master gallery.
            fid: gallery to link to the master; when omitted the call makes 'master' a master
                gallery.
        """
        return cast(
            "Ack",
            await self._client._call(
                "gallery.set_master",
                {
                    "master": master,
                    "fid": fid,
                },
            ),
        )

    async def download(
        self,
        *,
        fid: str,
    ) -> DownloadLink:
        """Get a download link (archive) for a gallery's files.

        `GET /v2/gallery.download.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            fid: gallery id (inferred).
        """
        return cast(
            "DownloadLink",
            await self._client._call(
                "gallery.download",
                {
                    "fid": fid,
                },
            ),
        )


class LiveResource:
    """The `live.*` operations, as `client.live.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    async def create(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> LiveStreamCreated:
        """Create a live stream.

        `GET /v2/live.create.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            name: stream name (inferred) (inferred).
            description: (inferred) (inferred).
        """
        return cast(
            "LiveStreamCreated",
            await self._client._call(
                "live.create",
                {
                    "name": name,
                    "description": description,
                },
            ),
        )

    async def list(self) -> LiveStreamList:
        """List live streams.

        `GET /v2/live.list.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.
        """
        return cast(
            "LiveStreamList",
            await self._client._call(
                "live.list",
                {},
            ),
        )

    async def start(
        self,
        *,
        id: str,
    ) -> Ack:
        """Start a live stream.

        `GET /v2/live.start.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            id: stream id (param name unknown; 'stream_id' also plausible) (inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "live.start",
                {
                    "id": id,
                },
            ),
        )

    async def stop(
        self,
        *,
        id: str,
    ) -> Ack:
        """Stop a live stream.

        `GET /v2/live.stop.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            id: stream id (param name unknown; 'stream_id' also plausible) (inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "live.stop",
                {
                    "id": id,
                },
            ),
        )

    async def reset(
        self,
        *,
        id: str,
    ) -> Ack:
        """Reset a live stream.

        `GET /v2/live.reset.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            id: stream id (param name unknown; 'stream_id' also plausible) (inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "live.reset",
                {
                    "id": id,
                },
            ),
        )

    async def delete(
        self,
        *,
        id: str,
    ) -> Ack:
        """Delete a live stream.

        `GET /v2/live.delete.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            id: stream id (param name unknown; 'stream_id' also plausible) (inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "live.delete",
                {
                    "id": id,
                },
            ),
        )


class PortalResource:
    """The `portal.*` operations, as `client.portal.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    async def check(
        self,
        *,
        subdomain: str,
    ) -> PortalAvailability:
        """Check whether a portal subdomain is available.

        `GET /v2/portal.check.json`

        Args:
            subdomain: subdomain name to check.
        """
        return cast(
            "PortalAvailability",
            await self._client._call(
                "portal.check",
                {
                    "subdomain": subdomain,
                },
            ),
        )

    async def cease(
        self,
        *,
        subdomain: str,
    ) -> Ack:
        """Claim (create) a portal subdomain if it is available. The overview's summary table
        calls this 'deactivate/cease an existing portal', but its detailed section and
        example create the subdomain if available; the SDK documents both readings.

        `POST /v2/portal.cease.json`

        Args:
            subdomain: subdomain to claim (the detailed section's curl example passes it).
        """
        return cast(
            "Ack",
            await self._client._call(
                "portal.cease",
                {
                    "subdomain": subdomain,
                },
            ),
        )

    async def rename(
        self,
        *,
        from_: str,
        to: str,
    ) -> Ack:
        """Rename an existing portal subdomain.

        `POST /v2/portal.rename.json`

        Args:
            from_: existing subdomain (must exist and be owned by the caller); passed as
                `from_`.
            to: new subdomain; must follow the naming rules and not be taken, else an error.
        """
        return cast(
            "Ack",
            await self._client._call(
                "portal.rename",
                {
                    "from": from_,
                    "to": to,
                },
            ),
        )

    async def remove(
        self,
        *,
        subdomain: str,
    ) -> Ack:
        """Delete a portal subdomain permanently (irreversible).

        `POST /v2/portal.remove.json`

        Args:
            subdomain: subdomain to remove.
        """
        return cast(
            "Ack",
            await self._client._call(
                "portal.remove",
                {
                    "subdomain": subdomain,
                },
            ),
        )

    async def set(
        self,
        *,
        subdomain: str,
        template: str | None = None,
        args: Mapping[str, Any] | None = None,
        allow_public: bool | None = None,
        cincopa_login: bool | None = None,
        cincopa_login_registration: Literal["anyone", "restricted", "off"] | None = None,
        cincopa_login_user_add: Sequence[str] | None = None,
        cincopa_login_user_remove: Sequence[str] | None = None,
        cincopa_login_domain_add: Sequence[str] | None = None,
        cincopa_login_domain_remove: Sequence[str] | None = None,
        google_openid_user_add: Sequence[str] | None = None,
        google_openid_user_remove: Sequence[str] | None = None,
        google_openid_domain_add: Sequence[str] | None = None,
        google_openid_domain_remove: Sequence[str] | None = None,
        simple_user_add: str | None = None,
        simple_user_remove: Sequence[str] | None = None,
        cname_domain: str | None = None,
    ) -> Ack:
        """Create or update a portal's configuration: template, access rules, login methods,
        user lists, CNAME mapping.

        `POST /v2/portal.set.json`

        Args:
            subdomain: portal subdomain; unique across Cincopa.
            template: path of a predefined template, e.g. /templates/corporate.
            args: JSON object string of extra template settings; invalid JSON is an error
                (validate client-side) (sent as JSON text).
            allow_public: public access; any other value is rejected (sent as yes/no).
            cincopa_login: require Cincopa login (sent as yes/no).
            cincopa_login_registration: registration policy when Cincopa login is on.
            cincopa_login_user_add: emails allowed via Cincopa login (sent comma-separated).
            cincopa_login_user_remove: emails to remove from that list (sent comma-separated).
            cincopa_login_domain_add: email domains allowed via Cincopa login (sent
                comma-separated).
            cincopa_login_domain_remove: domains to remove (sent comma-separated).
            google_openid_user_add: emails allowed via Google OpenID (sent comma-separated).
            google_openid_user_remove: emails to remove (sent comma-separated).
            google_openid_domain_add: Google domains allowed (sent comma-separated).
            google_openid_domain_remove: Google domains to remove (sent comma-separated).
            simple_user_add: users as CSV 'user:password' pairs or a JSON array (secret: never
                log it) (secret: redacted from URLs, logs and errors).
            simple_user_remove: user names to remove (sent comma-separated).
            cname_domain: custom domain CNAME'd to <subdomain>.cincopa.com; DNS must be set
                first.
        """
        return cast(
            "Ack",
            await self._client._call(
                "portal.set",
                {
                    "subdomain": subdomain,
                    "template": template,
                    "args": args,
                    "allow_public": allow_public,
                    "cincopa_login": cincopa_login,
                    "cincopa_login_registration": cincopa_login_registration,
                    "cincopa_login_user_add": cincopa_login_user_add,
                    "cincopa_login_user_remove": cincopa_login_user_remove,
                    "cincopa_login_domain_add": cincopa_login_domain_add,
                    "cincopa_login_domain_remove": cincopa_login_domain_remove,
                    "google_openid_user_add": google_openid_user_add,
                    "google_openid_user_remove": google_openid_user_remove,
                    "google_openid_domain_add": google_openid_domain_add,
                    "google_openid_domain_remove": google_openid_domain_remove,
                    "simple_user_add": simple_user_add,
                    "simple_user_remove": simple_user_remove,
                    "cname_domain": cname_domain,
                },
            ),
        )

    async def list(
        self,
        *,
        subdomain: str | None = None,
    ) -> PortalList:
        """List portals, optionally filtered by subdomain.

        `GET /v2/portal.list.json`

        Args:
            subdomain: optional filter.
        """
        return cast(
            "PortalList",
            await self._client._call(
                "portal.list",
                {
                    "subdomain": subdomain,
                },
            ),
        )


class TokenResource:
    """The `token.*` operations, as `client.token.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    async def get_temp(
        self,
        *,
        ttl: int | None = None,
        sourceip: str | None = None,
        permissions: Sequence[str] | None = None,
        fid: str | None = None,
        rid: str | None = None,
        host: str | None = None,
    ) -> TempToken:
        """Derive a short-lived temporary token from the calling (parent) token for client-side
        use.

        `GET /v2/token.get_temp.json`

        Args:
            ttl: lifetime of the temporary token in seconds (Cincopa plugins pass 600).
            sourceip: restrict the temporary token to this IPv4 source address.
            permissions: pipe-separated subset of the parent's permissions (mirrors the '!p'
                field of self-generated v3 tokens) (sent pipe-separated; inferred).
            fid: restrict to one gallery (mirrors '!f' of v3 tokens) (inferred).
            rid: restrict to one asset (mirrors '!r' of v3 tokens) (inferred).
            host: restrict to a host/domain (mirrors '!h' of v3 tokens) (inferred).
        """
        return cast(
            "TempToken",
            await self._client._call(
                "token.get_temp",
                {
                    "ttl": ttl,
                    "sourceip": sourceip,
                    "permissions": permissions,
                    "fid": fid,
                    "rid": rid,
                    "host": host,
                },
            ),
        )

    async def list(
        self,
        *,
        sub_account: str | None = None,
    ) -> TokenList:
        """List API tokens (optionally of a sub-account).

        `GET /v2/token.list.json`

        Args:
            sub_account: sub-account uid.
        """
        return cast(
            "TokenList",
            await self._client._call(
                "token.list",
                {
                    "sub_account": sub_account,
                },
            ),
        )

    async def create(
        self,
        *,
        name: str,
        permissions: Sequence[str],
        sub_account: str | None = None,
    ) -> TokenCreated:
        """Create an API token with given permissions (optionally in a sub-account).

        `GET /v2/token.create.json`

        Args:
            name: token name.
            permissions: pipe-separated scopes, e.g. 'asset.*|gallery.*' (sent pipe-separated).
            sub_account: sub-account uid.
        """
        return cast(
            "TokenCreated",
            await self._client._call(
                "token.create",
                {
                    "name": name,
                    "permissions": permissions,
                    "sub_account": sub_account,
                },
            ),
        )


class UploadResource:
    """The `upload.*` operations, as `client.upload.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    def iframe(
        self,
        *,
        fid: str | None = None,
        rrid: str | None = None,
        view: Literal["large", "small", "list"] | None = None,
        allow: str | None = None,
        allowExtensions: str | None = None,
        disable_mobile_app: bool | None = None,
        disable_undo: bool | None = None,
        disable_href: bool | None = None,
        api_token: str | None = None,
    ) -> str:
        """Return an HTML page (for an <iframe>) with Cincopa's upload/record widget bound to a
        gallery.

        `GET /v2/upload.iframe`

        Builds the URL (nothing is sent). The URL carries a token: hand it only to the browser
        that needs it, and prefer a temporary token (`api_token=`).

        Args:
            fid: gallery receiving uploads.
            rrid: reference id of a gallery to create/use (e.g. 'assign:<cmid>:<userid>');
                galleries made this way are named 'rrid:<value>'.
            view: thumbnail/list layout of the widget.
            allow: allowed asset types ('all' or a type list).
            allowExtensions: allowed file extensions ('all' or a list).
            disable_mobile_app: hide the mobile-app upload option; False is left out, not sent
                as 'false' (see BOOL).
            disable_undo: disable undo in the widget; False is left out, not sent as 'false'
                (see BOOL).
            disable_href: disable links inside the widget; False is left out, not sent as
                'false' (see BOOL).
            api_token: a (temporary) token to put in the URL instead of the client's.
        """
        return self._client._build_url(
            "upload.iframe",
            {
                "fid": fid,
                "rrid": rrid,
                "view": view,
                "allow": allow,
                "allowExtensions": allowExtensions,
                "disable_mobile_app": disable_mobile_app,
                "disable-undo": disable_undo,
                "disable_href": disable_href,
            },
            api_token,
        )

    async def get_upload_token(
        self,
        *,
        fid: str | None = None,
        ttl: int | None = None,
    ) -> UploadToken:
        """Create an 'invite' upload token that lets a third party upload into the account (e.g.
        into one gallery) without a full API token.

        `GET /v2/upload.get_upload_token.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            fid: gallery the invited uploads go to (inferred).
            ttl: lifetime in seconds (inferred).
        """
        return cast(
            "UploadToken",
            await self._client._call(
                "upload.get_upload_token",
                {
                    "fid": fid,
                    "ttl": ttl,
                },
            ),
        )


class WebhookResource:
    """The `webhook.*` operations, as `client.webhook.<action>(...)`."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientOperations) -> None:
        self._client = client

    async def list(self) -> WebhookList:
        """List the webhooks registered on the account.

        `GET /v2/webhook.list.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.
        """
        return cast(
            "WebhookList",
            await self._client._call(
                "webhook.list",
                {},
            ),
        )

    async def set(
        self,
        *,
        hook_url: str,
        events: Sequence[str],
        security_key: str | None = None,
    ) -> Ack:
        """Create or update a webhook subscription (an upsert by hook_url: inferred).

        `POST /v2/webhook.set.json`

        Args:
            hook_url: receiver URL; events are POSTed here as JSON.
            events: event names or namespaces (e.g. 'asset.uploaded' or 'asset.*'); several are
                sent comma-separated (inferred: Cincopa's clients send one) (sent
                comma-separated).
            security_key: shared secret associated with the hook (delivery/signing mechanism
                undocumented) (secret: redacted from URLs, logs and errors).
        """
        return cast(
            "Ack",
            await self._client._call(
                "webhook.set",
                {
                    "hook_url": hook_url,
                    "events": events,
                    "security_key": security_key,
                },
            ),
        )

    async def set_slack(
        self,
        *,
        hook_url: str,
        events: Sequence[str],
    ) -> Ack:
        """Create or update a webhook that posts event notifications into Slack (via a Slack
        incoming-webhook URL).

        `POST /v2/webhook.set_slack.json`

        Inferred: Cincopa's reference does not document this operation's parameters and reply;
        they are the project's best guess.

        Args:
            hook_url: Slack incoming-webhook URL (param name inferred by analogy with
                webhook.set) (inferred).
            events: event names/namespaces to forward (sent comma-separated; inferred).
        """
        return cast(
            "Ack",
            await self._client._call(
                "webhook.set_slack",
                {
                    "hook_url": hook_url,
                    "events": events,
                },
            ),
        )

    async def delete(
        self,
        *,
        hook_url: str,
    ) -> Ack:
        """Delete a webhook subscription identified by its URL.

        `POST /v2/webhook.delete.json`

        Args:
            hook_url: URL of the hook to delete.
        """
        return cast(
            "Ack",
            await self._client._call(
                "webhook.delete",
                {
                    "hook_url": hook_url,
                },
            ),
        )


class ClientOperations(abc.ABC):
    """The resource attributes and the operations without a resource prefix."""

    def __init__(self) -> None:
        self.account = AccountResource(self)
        self.asset = AssetResource(self)
        self.gallery = GalleryResource(self)
        self.live = LiveResource(self)
        self.portal = PortalResource(self)
        self.token = TokenResource(self)
        self.upload = UploadResource(self)
        self.webhook = WebhookResource(self)

    @abc.abstractmethod
    async def _call(self, name: str, arguments: Mapping[str, object]) -> Any: ...

    @abc.abstractmethod
    def _paginate(self, name: str, arguments: Mapping[str, object]) -> Any: ...

    @abc.abstractmethod
    def _build_url(
        self, name: str, arguments: Mapping[str, object], api_token: str | None
    ) -> str: ...

    async def ping(self) -> Ping:
        """Validate the token and return the identity/permissions behind it.

        `GET /v2/ping.json`
        """
        return cast(
            "Ping",
            await self._call(
                "ping",
                {},
            ),
        )
