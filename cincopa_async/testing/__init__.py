"""A stateful emulator of the Cincopa REST API v2 for tests, offline development and benchmarks.

In-process (no sockets)::

    from cincopa_async.testing import CincopaEmulator

    async with CincopaEmulator(seed=0) as emu:
        async with emu.client() as cp:           # an AsyncCincopa with a full-permission token
            gallery = await cp.gallery.create(name="Demo")

On a loopback port: ``async with emu.serve(port=0) as base_url: ...`` or, from a shell,
``python -m cincopa_async.testing --port 8765``. Faults: ``emu.faults.add("server_error",
rate=0.2, operations=("asset.list",))``. Pytest fixtures: ``cincopa_emulator`` and
``cincopa_client`` (plugin ``cincopa``).
"""

from ._app import ConnectionDropped, EmulatorApp, RecordedRequest
from ._emulator import CincopaEmulator, EmittedEvent
from ._faults import Fault, FaultKind, FaultKindName, Faults
from ._ops import OPERATIONS, Operation
from ._server import ListenError, PortInUseError, serve_asgi_app
from ._state import EmulatorState, UploadSession
from ._transport import EmulatorTransport
from ._webhooks import WebhookDelivery, signature

__all__ = [
    "OPERATIONS",
    "CincopaEmulator",
    "ConnectionDropped",
    "EmittedEvent",
    "EmulatorApp",
    "EmulatorState",
    "EmulatorTransport",
    "Fault",
    "FaultKind",
    "FaultKindName",
    "Faults",
    "ListenError",
    "Operation",
    "PortInUseError",
    "RecordedRequest",
    "UploadSession",
    "WebhookDelivery",
    "serve_asgi_app",
    "signature",
]
