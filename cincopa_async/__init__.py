"""cincopa-async: an asyncio- and trio-native SDK for the Cincopa REST API v2.

::

    from cincopa_async import AsyncCincopa

    async with AsyncCincopa() as cp:             # the token comes from CINCOPA_API_TOKEN
        async for asset in cp.asset.list(type=["video"]):
            print(asset.rid, asset.caption)

Everything public is imported here; the modules behind it are private.
"""

from ._client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, AsyncCincopa
from ._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CincopaError,
    CincopaValidationError,
    NotFoundError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
)
from ._models import (
    Ack,
    Asset,
    AssetList,
    AssetVersion,
    DownloadLink,
    Gallery,
    GalleryCreated,
    GalleryFolder,
    GalleryItems,
    GalleryList,
    ImportJob,
    ImportStatus,
    LiveStream,
    LiveStreamCreated,
    LiveStreamList,
    PagingInfo,
    Ping,
    Portal,
    PortalAvailability,
    PortalList,
    Reply,
    SubAccount,
    SubAccountCreated,
    SubAccountList,
    TagCloud,
    TempToken,
    Thumbnail,
    TokenCreated,
    TokenInfo,
    TokenList,
    UploadToken,
    UploadUrl,
    Webhook,
    WebhookList,
)
from ._paging import AsyncPager

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "Ack",
    "Asset",
    "AssetList",
    "AssetVersion",
    "AsyncCincopa",
    "AsyncPager",
    "AuthenticationError",
    "CincopaError",
    "CincopaValidationError",
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
    "NotFoundError",
    "PagingInfo",
    "Ping",
    "Portal",
    "PortalAvailability",
    "PortalList",
    "RateLimitError",
    "Reply",
    "ResponseDecodeError",
    "ResponseValidationError",
    "ServerError",
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
    "__version__",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("cincopa_async._"):
        _obj.__module__ = "cincopa_async"
del _name, _obj
