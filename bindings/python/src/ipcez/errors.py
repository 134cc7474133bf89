"""The ipcez error classes. Match on ``code``: codes are API, messages may change.

The classes and codes are the TypeScript package's (``IpcezError``, ``IoError``,
``ConnectionLostError`` ...), so a program that talks to a Node peer handles the same
failures by the same names on both sides.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

__all__ = [
    "IPCEZ_ERROR_CODES",
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
    "is_ipcez_error",
]

#: Every error code this package produces. ``IPCEZ_ERR_INVALID_ARG`` is not in it: it is the
#: ``code`` of the ``TypeError``/``ValueError`` raised for programmer errors.
IPCEZ_ERROR_CODES: Tuple[str, ...] = (
    "IPCEZ_ERR_IO",
    "IPCEZ_ERR_CONNECTION_LOST",
    "IPCEZ_ERR_WS",
    "IPCEZ_ERR_FRAME_TOO_LARGE",
    "IPCEZ_ERR_DETECTION",
    "IPCEZ_ERR_UNSUPPORTED_COMBINATION",
    "IPCEZ_ERR_ACK_TIMEOUT",
    "IPCEZ_ERR_ENDPOINT_IN_USE",
    "IPCEZ_ERR_UNSUPPORTED_PLATFORM",
    "IPCEZ_ERR_INVALID_ENDPOINT",
    "IPCEZ_ERR_ACK_UNAVAILABLE",
    "IPCEZ_ERR_PROTOCOL",
)


class IpcezError(Exception):
    """Base class of every operational ipcez error; ``code`` is a stable ``IPCEZ_ERR_*`` string."""

    code: str = ""

    def __init__(self, message: str, *, cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.message = message
        if cause is not None:
            self.__cause__ = cause

    @property
    def cause(self) -> Optional[BaseException]:
        """The underlying error (also ``__cause__``), or ``None``."""
        return self.__cause__


class IoError(IpcezError):
    """An OS failure: refused, not found, permission denied, reset. The ``OSError`` is the cause;
    ``errno``, ``os_code``, ``syscall`` and ``path`` are lifted from it."""

    code = "IPCEZ_ERR_IO"

    def __init__(
        self,
        message: str,
        *,
        cause: Optional[BaseException] = None,
        path: Optional[str] = None,
        syscall: Optional[str] = None,
    ) -> None:
        super().__init__(message, cause=cause)
        self._path = path
        self.syscall = syscall

    @property
    def errno(self) -> Optional[int]:
        """The OS error number, when the cause is an ``OSError``."""
        cause = self.__cause__
        return cause.errno if isinstance(cause, OSError) else None

    @property
    def os_code(self) -> Optional[str]:
        """The symbolic OS error code (``'ECONNREFUSED'``, ``'ENOENT'`` ...), when known."""
        import errno as _errno

        number = self.errno
        return _errno.errorcode.get(number) if number is not None else None

    @property
    def path(self) -> Optional[str]:
        """The path involved: the one given, else the cause's ``filename``."""
        if self._path is not None:
            return self._path
        cause = self.__cause__
        filename = getattr(cause, "filename", None)
        return filename if isinstance(filename, str) else None


class ConnectionLostError(IoError):
    """The connection is gone: the peer went away, or ``disconnect()`` was called.

    ``reason`` is one of ``'peer-closed'``, ``'reset'``, ``'local-close'``.
    """

    code = "IPCEZ_ERR_CONNECTION_LOST"

    def __init__(
        self,
        reason: str,
        message: Optional[str] = None,
        *,
        cause: Optional[BaseException] = None,
        path: Optional[str] = None,
    ) -> None:
        super().__init__(message or "connection lost (%s)" % reason, cause=cause, path=path)
        self.reason = reason


class WsError(IpcezError):
    """A WebSocket handshake or protocol failure; ``status`` is the HTTP status where there is one,
    ``close_code`` the WebSocket close code where there is one."""

    code = "IPCEZ_ERR_WS"

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        close_code: Optional[int] = None,
        cause: Optional[BaseException] = None,
    ) -> None:
        super().__init__(message, cause=cause)
        self.status = status
        self.close_code = close_code


class FrameTooLargeError(IpcezError):
    """A message over a limit: sent (nothing was written, the socket stays usable), announced by a
    received header (the connection is closed), or longer than ``read(max_bytes)`` (the message
    stays queued). ``size`` and ``limit`` are in bytes."""

    code = "IPCEZ_ERR_FRAME_TOO_LARGE"

    def __init__(self, size: int, limit: int, direction: str = "sent") -> None:
        if direction == "announced":
            text = "frame header announces %d bytes, which exceeds the limit of %d bytes" % (size, limit)
        elif direction == "read":
            text = (
                "the next message is %d bytes, longer than max_bytes=%d; it stays queued "
                "(read it with a larger max_bytes or none)" % (size, limit)
            )
        else:
            text = "message of %d bytes exceeds the limit of %d bytes" % (size, limit)
        super().__init__(text)
        self.size = size
        self.limit = limit


class DetectionError(IpcezError):
    """``target`` or ``os`` is missing or invalid for a local endpoint: ``variable``, ``value``
    (``None`` when missing) and ``allowed`` say which and what would do."""

    code = "IPCEZ_ERR_DETECTION"

    def __init__(self, variable: str, value: Optional[str], allowed: Sequence[str]) -> None:
        seen = "not set" if value is None else '"%s", which is not valid' % value
        super().__init__("%s is %s; allowed values: %s" % (variable, seen, ", ".join(allowed)))
        self.variable = variable
        self.value = value
        self.allowed: Tuple[str, ...] = tuple(allowed)


class UnsupportedCombinationError(IpcezError):
    """The ``target``/``os`` pair cannot work for this endpoint or in this process."""

    code = "IPCEZ_ERR_UNSUPPORTED_COMBINATION"

    def __init__(self, target: str, os: str, detail: str) -> None:
        super().__init__("target=%s with os=%s is not supported: %s" % (target, os, detail))
        self.target = target
        self.os = os


class RecipientAckTimeoutError(IpcezError):
    """No ack in time after a send (the bytes were written, delivery is unconfirmed; the socket
    stays open), or no protocol answer in time while connecting. ``timeout`` is in seconds."""

    code = "IPCEZ_ERR_ACK_TIMEOUT"

    def __init__(self, timeout: float, what: str = "") -> None:
        super().__init__(
            what
            or "no ack within %g s: the message was written, delivery is unconfirmed" % timeout
        )
        self.timeout = timeout


class EndpointInUseError(IpcezError):
    """``listen`` found a live server answering the endpoint; nothing was touched."""

    code = "IPCEZ_ERR_ENDPOINT_IN_USE"

    def __init__(self, endpoint: str, *, cause: Optional[BaseException] = None) -> None:
        super().__init__("a live server already answers at %s" % endpoint, cause=cause)
        self.endpoint = endpoint


class UnsupportedPlatformError(IpcezError):
    """The operation cannot work on this platform (e.g. abstract socket names outside Linux)."""

    code = "IPCEZ_ERR_UNSUPPORTED_PLATFORM"

    def __init__(self, feature: str, platform: str) -> None:
        super().__init__("%s are not supported on %s" % (feature, platform))
        self.feature = feature
        self.platform = platform


class InvalidEndpointError(IpcezError):
    """The endpoint cannot be used: empty, too long for the OS, an ``http(s)://`` URL, a
    non-socket file in the way."""

    code = "IPCEZ_ERR_INVALID_ENDPOINT"

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__("invalid endpoint %r: %s" % (endpoint, reason))
        self.endpoint = endpoint


class AckUnavailableError(IpcezError):
    """Acks were asked for where they cannot work (no named semaphores here; a WebSocket server
    that does not speak ``ipcez.v2``)."""

    code = "IPCEZ_ERR_ACK_UNAVAILABLE"

    def __init__(self, detail: str, *, cause: Optional[BaseException] = None) -> None:
        super().__init__(
            "delivery acknowledgement is unavailable: %s. Run without acks by passing ack=False" % detail,
            cause=cause,
        )


class ProtocolError(IpcezError):
    """The peer broke the wire protocol (a protocol v2 control rule); the connection is closed."""

    code = "IPCEZ_ERR_PROTOCOL"


def is_ipcez_error(value: object, code: Optional[str] = None) -> bool:
    """Whether ``value`` is an ipcez error (optionally with the given ``code``), matched on ``code``."""
    if not isinstance(value, BaseException):
        return False
    actual = getattr(value, "code", None)
    if code is not None:
        return actual == code
    return isinstance(actual, str) and actual in IPCEZ_ERROR_CODES


class _InvalidArgType(TypeError):
    code = "IPCEZ_ERR_INVALID_ARG"


class _InvalidArgValue(ValueError):
    code = "IPCEZ_ERR_INVALID_ARG"


def invalid_arg(message: str, kind: str = "type") -> Exception:
    """A programmer error: ``TypeError`` (or ``ValueError`` for ``kind='value'``) with
    ``code == 'IPCEZ_ERR_INVALID_ARG'``."""
    return _InvalidArgValue(message) if kind == "value" else _InvalidArgType(message)
