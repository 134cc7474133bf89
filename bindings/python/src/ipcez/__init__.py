"""ipcez: inter-process communication that picks its transport for you.

One call, one endpoint string: a ``ws://``/``wss://`` URL talks WebSocket; anything else is a
Unix domain socket path, chosen by the ``target``/``os`` environment variables (or arguments).
Every message is delivered whole, and a send can wait until the recipient read it.

Blocking API here; the same shape for asyncio in :mod:`ipcez.aio`.
"""

from ._api import MessageResult, Server, Socket, connect, listen
from ._detect import OSES, TARGETS, Detection, detect_transport, is_websocket_url
from .errors import (
    IPCEZ_ERROR_CODES,
    AckUnavailableError,
    ConnectionLostError,
    DetectionError,
    EndpointInUseError,
    FrameTooLargeError,
    InvalidEndpointError,
    IoError,
    IpcezError,
    ProtocolError,
    RecipientAckTimeoutError,
    UnsupportedCombinationError,
    UnsupportedPlatformError,
    WsError,
    is_ipcez_error,
)
from .framing import MAX_MESSAGE_BYTES

#: The local wire protocol this package speaks: 2 (in-band acks), falling back to seed mode.
PROTOCOL_VERSION = 2

__version__ = "0.1.0"

__all__ = [
    "connect",
    "listen",
    "Socket",
    "Server",
    "MessageResult",
    "detect_transport",
    "is_websocket_url",
    "Detection",
    "TARGETS",
    "OSES",
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSION",
    "IPCEZ_ERROR_CODES",
    "is_ipcez_error",
    "IpcezError",
    "IoError",
    "ConnectionLostError",
    "WsError",
    "FrameTooLargeError",
    "DetectionError",
    "UnsupportedCombinationError",
    "RecipientAckTimeoutError",
    "EndpointInUseError",
    "UnsupportedPlatformError",
    "InvalidEndpointError",
    "AckUnavailableError",
    "ProtocolError",
]
