"""The blocking API: connect, listen, Socket, Server."""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, Iterator, NamedTuple, Optional, Union

from ._detect import Detection, detect_transport
from ._inbox import is_clean
from .errors import IpcezError, UnsupportedCombinationError, invalid_arg

Bytes = Union[bytes, bytearray, memoryview, str]

#: How long an accepted connection waits for the client's first header before it settles on
#: seed mode (protocol v2 "pending" rule), in seconds.
DEFAULT_PENDING_TIMEOUT = 0.1


class MessageResult(NamedTuple):
    """What a message handler gets: ``ok=True`` with ``message``, or (once, last) ``ok=False`` with
    ``error``."""

    ok: bool
    message: Optional[bytes] = None
    error: Optional[IpcezError] = None


def to_bytes(data: Bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise invalid_arg("a message must be bytes, bytearray, memoryview or str, got %s" % type(data).__name__)


def check_timeout(name: str, value: Optional[float], allow_none: bool) -> Optional[float]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_arg("%s must be a number of seconds, got %r" % (name, value))
    if not math.isfinite(value) or value <= 0:
        raise invalid_arg("%s must be a positive number of seconds, got %r" % (name, value), "value")
    return float(value)


class Prepared(NamedTuple):
    detection: Detection
    ack: bool
    ack_timeout: float


def prepare(
    endpoint: str, target: Optional[str], os: Optional[str], ack: Optional[bool], ack_timeout: float
) -> Prepared:
    detection = detect_transport(endpoint, target=target, os=os)
    if ack is not None and not isinstance(ack, bool):
        raise invalid_arg("ack must be a bool, got %s" % type(ack).__name__)
    checked = check_timeout("ack_timeout", ack_timeout, False)
    assert checked is not None
    if detection.transport == "pipe":
        raise UnsupportedCombinationError(
            detection.target,
            detection.os or "windows",
            "the Python binding does not implement Windows named pipes (they cannot be tested in its CI); "
            "use a ws:// endpoint, or the Node.js package",
        )
    resolved_ack = ack if ack is not None else detection.transport != "ws"
    return Prepared(detection, resolved_ack, checked)


def start_handler_thread(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


class Socket:
    """A connection: whole messages both ways. Owns its link (closed by :meth:`disconnect`).

    Thread-safe: any thread may send; reads (``read``, iteration, or one handler) are for one
    consumer at a time.
    """

    def __init__(self, link: Any, default_timeout: Optional[float] = None) -> None:
        self._link = link
        self._default_timeout = default_timeout
        self._link_read = getattr(link, "read", None)  # a stream link reads in the calling thread
        self._handler_set = False
        self._lock = threading.Lock()

    @property
    def transport(self) -> str:
        """``'unix'`` or ``'ws'``."""
        return str(self._link.transport)

    @property
    def endpoint(self) -> str:
        """The resolved endpoint (absolute socket path, ``@name``, or the URL)."""
        return str(self._link.endpoint)

    @property
    def is_acked(self) -> bool:
        """Whether this side's sends wait for acks."""
        return bool(self._link.is_acked)

    @property
    def protocol(self) -> int:
        """2 when protocol v2 (in-band acks) is in use on this connection, 0 in seed mode, -1 while
        an accepted connection has not decided yet."""
        return int(self._link.protocol)

    @property
    def state(self) -> str:
        """``'open'``, ``'closing'`` or ``'closed'``."""
        return str(self._link.state)

    def send_message(self, data: Bytes) -> None:
        """Sends one message (``str`` as UTF-8). Returns once written, and with acks on once the
        recipient acked it. Many threads may send at once; each message is written whole.

        Raises :class:`FrameTooLargeError` over 4 MiB (nothing written, the socket stays
        usable), :class:`RecipientAckTimeoutError` when no ack came in ``ack_timeout`` (the
        bytes were written), :class:`ConnectionLostError` once the connection ended.
        """
        self._link.send(to_bytes(data))

    write = send_message

    def read(self, max_bytes: Optional[int] = None, timeout: Optional[float] = None) -> bytes:
        """The next whole message (possibly ``b""``), waiting for it.

        ``max_bytes``: the largest message the caller accepts. A longer next message is neither
        truncated nor split: :class:`FrameTooLargeError` is raised (``size`` = its length,
        ``limit`` = ``max_bytes``) and the message stays queued for the next ``read``.
        ``timeout`` (seconds; default: ``connect``'s ``timeout``, else forever): raises
        ``TimeoutError``, nothing consumed. When the connection has ended and every message was
        read, raises its terminal error (:class:`ConnectionLostError` when the peer or this
        side closed).
        """
        self._check_reader()
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0):
            raise invalid_arg("max_bytes must be a non-negative int or None, got %r" % (max_bytes,), "value")
        wait = check_timeout("timeout", timeout, True) if timeout is not None else self._default_timeout
        return self._read(wait, max_bytes)

    def _read(self, timeout: Optional[float], max_bytes: Optional[int]) -> bytes:
        if self._link_read is not None:
            return self._link_read(timeout, max_bytes)  # type: ignore[no-any-return]
        return bytes(self._link.inbox.get(timeout, max_bytes))

    def __iter__(self) -> Iterator[bytes]:
        """Messages until the connection ends: stops quietly when the peer or this side closed,
        raises any other terminal error."""
        self._check_reader()
        while True:
            try:
                yield self._read(None, None)
            except IpcezError as error:
                if is_clean(error):
                    return
                raise

    def message_handler(self, callback: Callable[[MessageResult], None]) -> None:
        """Calls ``callback`` (on a thread of its own) with each message in order, then exactly once
        with ``ok=False`` and the terminal error, then never again. Messages that arrived before
        it was set are delivered first. Set it once, and do not also ``read``."""
        if not callable(callback):
            raise invalid_arg("callback must be callable")
        with self._lock:
            if self._handler_set:
                raise invalid_arg("a message handler is already set on this socket", "value")
            self._handler_set = True
        inbox = self._link.inbox

        def run() -> None:
            while True:
                try:
                    message = inbox.get(None)
                except IpcezError as error:
                    callback(MessageResult(False, None, error))
                    return
                callback(MessageResult(True, bytes(message), None))

        start_handler_thread(run, "ipcez-message-handler")

    def _check_reader(self) -> None:
        if self._handler_set:
            raise invalid_arg("this socket has a message handler: read through it, not read()/iteration", "value")

    def disconnect(self) -> None:
        """Closes the connection (a frame being written is finished first). Idempotent. Later
        sends raise :class:`ConnectionLostError`; sends waiting for an ack raise it at once."""
        self._link.close()

    close = disconnect

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def __repr__(self) -> str:
        return "<ipcez.Socket %s %s %s>" % (self.transport, self.endpoint, self.state)


class Server:
    """A listening endpoint. Owns its listener and every accepted socket (closed by :meth:`close`)."""

    def __init__(self, listener: Any, default_timeout: Optional[float] = None) -> None:
        self._listener = listener
        self._default_timeout = default_timeout
        self._sockets: "list[Socket]" = []

    @property
    def endpoint(self) -> str:
        """The resolved endpoint: the absolute socket path, ``@name``, or the URL with its port."""
        return str(self._listener.endpoint)

    @property
    def transport(self) -> str:
        return str(self._listener.transport)

    def accept(self, timeout: Optional[float] = None) -> Socket:
        """The next accepted connection; ``TimeoutError`` after ``timeout`` seconds;
        :class:`ConnectionLostError` once the server is closed."""
        wait = check_timeout("timeout", timeout, True)
        return self._wrap(self._listener.inbox.get(wait))

    def _wrap(self, link: Any) -> Socket:
        socket = Socket(link, self._default_timeout)
        self._sockets.append(socket)
        return socket

    def __iter__(self) -> Iterator[Socket]:
        """Accepted connections until the server is closed."""
        while True:
            try:
                yield self._wrap(self._listener.inbox.get(None))
            except IpcezError as error:
                if is_clean(error):
                    return
                raise

    def connection_handler(self, callback: Callable[[Socket], None]) -> None:
        """Calls ``callback`` (on a thread of its own) with each accepted connection."""
        if not callable(callback):
            raise invalid_arg("callback must be callable")

        def run() -> None:
            for socket in self:
                callback(socket)

        start_handler_thread(run, "ipcez-connection-handler")

    def close(self) -> None:
        """Stops accepting, closes every accepted socket, releases the endpoint (named semaphores
        unlinked first, then the socket file removed if it is still this server's). Idempotent."""
        self._listener.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<ipcez.Server %s %s>" % (self.transport, self.endpoint)


def connect(
    endpoint: str,
    *,
    target: Optional[str] = None,
    os: Optional[str] = None,
    ack: Optional[bool] = None,
    ack_timeout: float = 5.0,
    timeout: Optional[float] = None,
    headers: Optional["dict[str, str]"] = None,
) -> Socket:
    """Connects to ``endpoint`` and returns a :class:`Socket`.

    The transport comes from the endpoint and ``target``/``os`` (arguments, else the
    environment): ``ws://``/``wss://`` is WebSocket; anything else is a Unix socket path
    (``target=local os=linux``). ``ack`` (default: on for local endpoints, off for WebSocket)
    makes each send wait until the recipient read it, at most ``ack_timeout`` seconds.
    ``timeout`` bounds connecting and is the default ``timeout`` of :meth:`Socket.read`.
    ``headers`` are extra WebSocket handshake headers.
    """
    link, wait = open_link(endpoint, target, os, ack, ack_timeout, timeout, headers)
    return Socket(link, wait)


def open_link(
    endpoint: str,
    target: Optional[str],
    os: Optional[str],
    ack: Optional[bool],
    ack_timeout: float,
    timeout: Optional[float],
    headers: Optional["dict[str, str]"],
) -> "tuple[Any, Optional[float]]":
    """Detects, validates and connects; the connected link and the default read timeout."""
    prepared = prepare(endpoint, target, os, ack, ack_timeout)
    wait = check_timeout("timeout", timeout, True)
    if prepared.detection.transport == "ws":
        from ._ws import connect_ws

        return connect_ws(endpoint, ack=prepared.ack, ack_timeout=prepared.ack_timeout, timeout=wait, headers=headers), wait
    if headers is not None:
        raise invalid_arg("headers is a WebSocket option; %s is a local endpoint" % endpoint)
    from ._unix import connect_unix

    return connect_unix(endpoint, ack=prepared.ack, ack_timeout=prepared.ack_timeout, timeout=wait), wait


def listen(
    endpoint: str,
    *,
    target: Optional[str] = None,
    os: Optional[str] = None,
    ack: Optional[bool] = None,
    ack_timeout: float = 5.0,
    timeout: Optional[float] = None,
    pending_timeout: float = DEFAULT_PENDING_TIMEOUT,
) -> Server:
    """Listens on ``endpoint`` (detected like :func:`connect`; ``ws://host:port/path`` serves
    WebSocket, port 0 picks one) and returns a :class:`Server`.

    ``ack`` (default on locally) makes the accepted sockets' sends wait for acks. ``timeout``
    is the default read timeout of accepted sockets. ``pending_timeout`` (seconds, default
    0.1): how long an accepted local connection waits for the client's first header before it
    settles on seed mode (raise it on loaded hosts).

    Raises :class:`EndpointInUseError` when a live server answers (nothing touched),
    :class:`InvalidEndpointError` for a path over the OS limit or a non-socket file in the way.
    """
    listener, wait = open_listener(endpoint, target, os, ack, ack_timeout, timeout, pending_timeout)
    return Server(listener, wait)


def open_listener(
    endpoint: str,
    target: Optional[str],
    os: Optional[str],
    ack: Optional[bool],
    ack_timeout: float,
    timeout: Optional[float],
    pending_timeout: float,
) -> "tuple[Any, Optional[float]]":
    """Detects, validates and listens; the listener and the accepted sockets' read timeout."""
    prepared = prepare(endpoint, target, os, ack, ack_timeout)
    wait = check_timeout("timeout", timeout, True)
    pending = check_timeout("pending_timeout", pending_timeout, False)
    assert pending is not None
    if prepared.detection.transport == "ws":
        from ._ws import WsListener

        return WsListener(endpoint, ack=prepared.ack, ack_timeout=prepared.ack_timeout), wait
    from ._unix import UnixListener

    return UnixListener(endpoint, ack=prepared.ack, ack_timeout=prepared.ack_timeout, pending_timeout=pending), wait
