"""cincopa-async: an asyncio- and trio-native SDK for the Cincopa REST API v2.

::

    from cincopa_async import AsyncCincopa

    async with AsyncCincopa() as cp:             # the token comes from CINCOPA_API_TOKEN
        async for asset in cp.asset.list(type=["video"]):
            print(asset.rid, asset.caption)

Everything public is imported here; the modules behind it are private.
"""

from typing import TYPE_CHECKING, Any

from ._client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, AsyncCincopa
from ._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CincopaError,
    CincopaValidationError,
    ImportOutcomeUnknownError,
    NotFoundError,
    OutcomeUnknownError,
    QuotaExceededError,
    RateLimitError,
    ReferenceConflictError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
    UploadOutcomeUnknownError,
    UploadSourceError,
)
from ._paging import AsyncPager
from ._uploads import UploadProgress, UploadState
from ._version import __version__

if TYPE_CHECKING:
    from ._bulk import (
        BulkCancelledError,
        BulkFailure,
        BulkItem,
        BulkProgress,
        BulkResult,
        BulkRun,
        BulkSuccess,
        LedgerFailedError,
    )
    from ._ledger import Ledger, LedgerRecord
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

# The reply models load on first use (``cincopa_async.Asset``, or the first reply), which keeps
# ``import cincopa_async`` close to ``import httpx``; see benchmarks/bench_import.py.
_LAZY_MODELS = frozenset(
    {
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
    }
)


# The ledger (and sqlite3 with it) loads with the first bulk job that uses one.
_LAZY_LEDGER = frozenset({"Ledger", "LedgerRecord"})

# The bulk engine's types load with ``cp.bulk`` or on first use here: attrs and the engine are
# a third of the import otherwise.
_LAZY_BULK = frozenset(
    {
        "BulkCancelledError",
        "BulkFailure",
        "BulkItem",
        "BulkProgress",
        "BulkResult",
        "BulkRun",
        "BulkSuccess",
        "LedgerFailedError",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODELS or name in _LAZY_LEDGER:
        import importlib

        module = importlib.import_module(
            "._models" if name in _LAZY_MODELS else "._ledger", __name__
        )
        value = getattr(module, name)
        value.__module__ = "cincopa_async"
        globals()[name] = value
        return value
    if name in _LAZY_BULK:
        from . import _bulk

        for each in _LAZY_BULK:  # all at once, so that BulkItem's parts show as public too
            value = getattr(_bulk, each)
            if isinstance(value, type):
                value.__module__ = "cincopa_async"
            globals()[each] = value
        return globals()[name]
    raise AttributeError(f"module 'cincopa_async' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "BulkCancelledError",
    "BulkFailure",
    "BulkItem",
    "BulkProgress",
    "BulkResult",
    "BulkRun",
    "BulkSuccess",
    "CincopaError",
    "CincopaValidationError",
    "DownloadLink",
    "Gallery",
    "GalleryCreated",
    "GalleryFolder",
    "GalleryItems",
    "GalleryList",
    "ImportJob",
    "ImportOutcomeUnknownError",
    "ImportStatus",
    "Ledger",
    "LedgerFailedError",
    "LedgerRecord",
    "LiveStream",
    "LiveStreamCreated",
    "LiveStreamList",
    "NotFoundError",
    "OutcomeUnknownError",
    "PagingInfo",
    "Ping",
    "Portal",
    "PortalAvailability",
    "PortalList",
    "QuotaExceededError",
    "RateLimitError",
    "ReferenceConflictError",
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
    "UploadOutcomeUnknownError",
    "UploadProgress",
    "UploadSourceError",
    "UploadState",
    "UploadToken",
    "UploadUrl",
    "Webhook",
    "WebhookList",
    "__version__",
]

for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type) and _obj.__module__.startswith("cincopa_async._"):
        _obj.__module__ = "cincopa_async"
del _name, _obj
