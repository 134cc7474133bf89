"""WebSocket (``ws://``) through the optional ``websockets`` package.

One ipcez message per binary WebSocket message; text messages received are delivered as their
UTF-8 bytes. Acks are opt-in for the client (``ack=True``): it offers the subprotocol
``ipcez.v2``; a server that selects it sends the text ``hello 2`` first, and from then on every
text message is control (``ack <n>``, one per read batch). A server acks what it reads on an
``ipcez.v2`` connection whatever its own ``ack``.

The websockets connections run on one event loop thread shared by the process; the blocking
and asyncio APIs both reach them through it.
"""

from __future__ import annotations

import asyncio
import http
import re
import sys
import threading
from collections import deque
from typing import Any, Deque, Optional
from urllib.parse import urlsplit

from . import framing
from ._inbox import Inbox, mark_clean
from ._sync import OK, Waiter, wait_ack
from .errors import (
    AckUnavailableError,
    ConnectionLostError,
    EndpointInUseError,
    FrameTooLargeError,
    InvalidEndpointError,
    IoError,
    IpcezError,
    ProtocolError,
    UnsupportedPlatformError,
    WsError,
)

SUBPROTOCOL = "ipcez.v2"
_ACK_TEXT = re.compile(r"^ack ([1-9][0-9]{0,7})$")
_CLOSE_TIMEOUT_S = 5.0


def _websockets() -> Any:
    try:
        import websockets
        import websockets.exceptions  # noqa: F401
    except ImportError as error:
        raise UnsupportedPlatformError(
            "WebSocket endpoints without the 'websockets' package (install it: pip install 'ipcez[websocket]', "
            "or apt-get install python3-websockets)",
            sys.platform,
        ) from error
    return websockets


_loop_lock = threading.Lock()
_loop: Optional[asyncio.AbstractEventLoop] = None


def _run(coro: Any, timeout: Optional[float] = None) -> Any:
    """Runs a coroutine on the shared WebSocket loop thread and waits for its result."""
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="ipcez-ws-loop", daemon=True).start()
            _loop = loop
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout)


def _check_url(endpoint: str) -> Any:
    parts = urlsplit(endpoint)
    if parts.scheme.lower() != "ws":
        raise InvalidEndpointError(endpoint, "the Python binding speaks ws:// only (wss:// is not implemented yet)")
    return parts


class WsConnection:
    """A link over one websockets connection; owns it."""

    transport = "ws"

    def __init__(self, ws: Any, endpoint: str, *, ack: bool, ack_timeout: float, v2: bool) -> None:
        self._ws = ws
        self.endpoint = endpoint
        self.is_acked = ack
        self.ack_timeout = ack_timeout
        self._v2 = v2
        self.inbox: Inbox[bytes] = Inbox(weigh=lambda m: len(m) + framing.HEADER_BYTES)
        self._slots: Deque[Optional[Waiter]] = deque()
        self._lock = threading.Lock()
        self._terminal: Optional[IpcezError] = None
        self._closing = False
        self._acks_due = 0
        self._ack_task: Optional["asyncio.Task[None]"] = None
        self._reader: Optional["asyncio.Task[None]"] = None

    protocol = property(lambda self: 2 if self._v2 else 0)
    terminal = property(lambda self: self._terminal)

    @property
    def state(self) -> str:
        return "closed" if self._terminal is not None else "closing" if self._closing else "open"

    def start(self) -> None:
        """Starts the reader task (on the loop thread)."""
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        exceptions = _websockets().exceptions
        try:
            async for message in self._ws:
                if isinstance(message, str):
                    if self._v2:
                        self._on_control(message)
                        continue
                    message = message.encode("utf-8")
                if self._v2:
                    self._acks_due += 1  # acked before delivery, merged while a write is pending
                    if self._ack_task is None:
                        self._ack_task = asyncio.get_running_loop().create_task(self._send_acks())
                self.inbox.push(message)
            self._end(mark_clean(ConnectionLostError("local-close" if self._closing else "peer-closed")))
        except ProtocolError as error:
            self._end(error)
            asyncio.get_running_loop().create_task(self._ws.close(1002, "ipcez protocol error"))
        except exceptions.ConnectionClosed as error:
            if self._closing:
                self._end(mark_clean(ConnectionLostError("local-close")))
            elif error.rcvd is not None and error.rcvd.code in (1000, 1001):
                self._end(mark_clean(ConnectionLostError("peer-closed")))
            else:
                code = error.rcvd.code if error.rcvd is not None else 1006
                self._end(ConnectionLostError("reset", "the WebSocket closed with code %d" % code, cause=error))

    async def _send_acks(self) -> None:
        try:
            while self._acks_due:
                count = min(self._acks_due, framing.MAX_CONTROL_VALUE)
                self._acks_due -= count
                await self._ws.send("ack %d" % count)
        except Exception:
            pass  # the reader reports the end
        finally:
            self._ack_task = None

    def _on_control(self, text: str) -> None:
        match = _ACK_TEXT.match(text)
        count = int(match.group(1)) if match else 0
        if not match or count > framing.MAX_CONTROL_VALUE:
            raise ProtocolError("unexpected control text %r on an ipcez.v2 WebSocket" % text[:40])
        with self._lock:
            if count > len(self._slots):
                raise ProtocolError(
                    "ack %d, but only %d messages were sent and not yet acknowledged" % (count, len(self._slots))
                )
            settled = [self._slots.popleft() for _ in range(count)]
        for waiter in settled:
            if waiter is not None:
                waiter.settle(OK)

    def _end(self, error: IpcezError) -> None:
        with self._lock:
            if self._terminal is not None:
                return
            self._terminal = error
            waiters = [w for w in self._slots if w is not None]
        for waiter in waiters:
            waiter.settle(error)
        self.inbox.end(error)

    def _lost(self) -> ConnectionLostError:
        error = self._terminal
        if isinstance(error, ConnectionLostError):
            return error
        return ConnectionLostError("local-close", "the WebSocket to %s is closed" % self.endpoint, cause=error)

    def send(self, payload: bytes) -> None:
        waiter = self.send_frame(payload)
        if waiter is not None:
            wait_ack(waiter, self.ack_timeout)

    def send_frame(self, payload: bytes) -> Optional[Waiter]:
        """Sends one message; with acks on, the :class:`Waiter` its ``ack`` settles."""
        if len(payload) > framing.MAX_MESSAGE_BYTES:
            raise FrameTooLargeError(len(payload), framing.MAX_MESSAGE_BYTES)
        waiter = Waiter() if self._v2 and self.is_acked else None
        with self._lock:
            if self._terminal is not None or self._closing:
                raise self._lost()
            if self._v2:
                self._slots.append(waiter)
        try:
            _run(self._ws.send(payload))
        except Exception as error:
            raise self._lost() from error
        return waiter

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True

        async def shut() -> None:
            await self._ws.close()
            if self._reader is not None:
                await asyncio.wait([self._reader], timeout=_CLOSE_TIMEOUT_S)

        _run(shut())
        self._end(mark_clean(ConnectionLostError("local-close")))


def connect_ws(
    endpoint: str, *, ack: bool, ack_timeout: float, timeout: Optional[float], headers: Optional["dict[str, str]"]
) -> WsConnection:
    websockets = _websockets()
    _check_url(endpoint)

    async def open_() -> WsConnection:
        try:
            ws = await websockets.connect(
                endpoint,
                subprotocols=[SUBPROTOCOL] if ack else None,
                extra_headers=headers,
                max_size=framing.MAX_MESSAGE_BYTES,
                open_timeout=timeout,
                ping_interval=None,
                compression=None,
            )
        except websockets.exceptions.InvalidStatusCode as error:
            raise WsError(
                "the WebSocket handshake with %s failed: HTTP %d" % (endpoint, error.status_code),
                status=error.status_code,
                cause=error,
            ) from error
        except websockets.exceptions.InvalidHandshake as error:
            raise WsError("the WebSocket handshake with %s failed: %s" % (endpoint, error), cause=error) from error
        except asyncio.TimeoutError:
            raise TimeoutError("connecting to %s took longer than %s s" % (endpoint, timeout)) from None
        except OSError as error:
            raise IoError("connecting to %s: %s" % (endpoint, error.strerror or error), cause=error) from error
        v2 = False
        if ack:
            if ws.subprotocol != SUBPROTOCOL:
                await ws.close()
                raise AckUnavailableError(
                    "the WebSocket server at %s did not select the %s subprotocol (it does not ack)" % (endpoint, SUBPROTOCOL)
                )
            try:
                first = await asyncio.wait_for(ws.recv(), ack_timeout)
            except (asyncio.TimeoutError, websockets.exceptions.ConnectionClosed):
                first = None
            if first != "hello 2":
                await ws.close(1002, "expected hello 2")
                raise AckUnavailableError(
                    "the WebSocket server at %s selected %s but did not say 'hello 2' first" % (endpoint, SUBPROTOCOL)
                )
            v2 = True
        connection = WsConnection(ws, endpoint, ack=ack, ack_timeout=ack_timeout, v2=v2)
        connection.start()
        return connection

    return _run(open_())  # type: ignore[no-any-return]


class WsListener:
    """Serves ``ws://host:port/path`` (port 0 picks one); owns the server and accepted connections."""

    transport = "ws"

    def __init__(self, endpoint: str, *, ack: bool, ack_timeout: float) -> None:
        websockets = _websockets()
        parts = _check_url(endpoint)
        self._path = parts.path or "/"
        self._ack = ack
        self.ack_timeout = ack_timeout
        self.inbox: Inbox[WsConnection] = Inbox()
        self._connections: "set[WsConnection]" = set()
        self._closed = False
        host = parts.hostname or "127.0.0.1"

        async def process_request(path: str, _headers: Any) -> Any:
            if urlsplit(path).path != self._path:
                return (http.HTTPStatus.NOT_FOUND, [], b"no ipcez endpoint at this path\n")
            return None

        async def handler(ws: Any, _path: str = "") -> None:
            v2 = ws.subprotocol == SUBPROTOCOL
            if v2:
                await ws.send("hello 2")
            connection = WsConnection(ws, self.endpoint, ack=self._ack and v2, ack_timeout=ack_timeout, v2=v2)
            self._connections.add(connection)
            connection.start()
            self.inbox.push(connection)
            await ws.wait_closed()
            if connection._reader is not None:
                await asyncio.wait([connection._reader], timeout=_CLOSE_TIMEOUT_S)

        async def start() -> Any:
            try:
                return await websockets.serve(
                    handler,
                    host,
                    parts.port if parts.port is not None else 80,
                    subprotocols=[SUBPROTOCOL],
                    process_request=process_request,
                    max_size=framing.MAX_MESSAGE_BYTES,
                    ping_interval=None,
                    compression=None,
                )
            except OSError as error:
                if error.errno == 98:  # EADDRINUSE
                    raise EndpointInUseError(endpoint, cause=error) from error
                raise IoError("listening on %s: %s" % (endpoint, error.strerror or error), cause=error) from error

        self._server = _run(start())
        port = self._server.sockets[0].getsockname()[1]
        self.endpoint = "ws://%s:%d%s" % (host if ":" not in host else "[%s]" % host, port, self._path)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for connection in list(self._connections):
            connection.close()

        async def shut() -> None:
            self._server.close()
            await self._server.wait_closed()

        _run(shut())
        self.inbox.end(mark_clean(ConnectionLostError("local-close", "listener on %s closed" % self.endpoint)))
