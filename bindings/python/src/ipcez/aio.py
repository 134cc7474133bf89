"""The asyncio API: the same shape as the blocking one, every waiting call awaitable.

    import asyncio, ipcez.aio

    async def main():
        async with await ipcez.aio.connect("/tmp/app.sock", target="local", os="linux") as sock:
            await sock.send_message(b"hello")
            print(await sock.read())

The connection runs on the same engine as the blocking API (a reader thread per connection
reads and acks whatever the event loop is doing); the loop is woken when something arrives.
Sends of one socket run in order on one worker thread of their own, so the loop never blocks
on a full socket buffer or an ack wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Optional, Union

from ._api import DEFAULT_PENDING_TIMEOUT, Bytes, MessageResult, check_timeout, open_link, open_listener, to_bytes
from ._inbox import Inbox, is_clean
from ._sync import OK, Waiter
from .errors import ConnectionLostError, IpcezError, RecipientAckTimeoutError, invalid_arg

__all__ = ["connect", "listen", "Socket", "Server", "MessageResult"]

Callback = Callable[[MessageResult], Union[None, Awaitable[None]]]


async def _get(inbox: Inbox[Any], timeout: Optional[float], max_bytes: Optional[int] = None) -> Any:
    loop = asyncio.get_running_loop()
    event = asyncio.Event()

    def wake() -> None:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:
            pass  # the loop is closed

    inbox.add_listener(wake)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            event.clear()
            has, item = inbox.try_get(max_bytes)
            if has:
                return item
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("nothing arrived within %g s" % timeout)
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
    finally:
        inbox.remove_listener(wake)


async def _wait_ack(waiter: Waiter, timeout: float) -> None:
    """Awaits an ack without a thread: the waiter's settlement is passed to the loop."""
    loop = asyncio.get_running_loop()
    future: "asyncio.Future[BaseException]" = loop.create_future()

    def settled(result: BaseException) -> None:
        def deliver() -> None:
            if not future.done():
                future.set_result(result)

        try:
            loop.call_soon_threadsafe(deliver)
        except RuntimeError:
            pass  # the loop is closed: nobody awaits it any more

    waiter.on_settled(settled)
    try:
        result = await asyncio.wait_for(asyncio.shield(future), timeout)
    except asyncio.TimeoutError:
        if waiter.settle(RecipientAckTimeoutError(timeout)):
            raise RecipientAckTimeoutError(timeout) from None
        result = waiter.result  # type: ignore[assignment]
    except asyncio.CancelledError:
        waiter.settle(ConnectionLostError("local-close", "the send was cancelled while waiting for its ack"))
        raise
    if result is not OK:
        raise result


class Socket:
    """A connection (asyncio). Owns its link; :meth:`disconnect` closes it."""

    def __init__(self, link: Any, default_timeout: Optional[float]) -> None:
        self._link = link
        self._default_timeout = default_timeout
        self._sender = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipcez-aio-send")
        self._handler: Optional["asyncio.Task[None]"] = None

    transport = property(lambda self: str(self._link.transport), doc="``'unix'`` or ``'ws'``.")
    endpoint = property(lambda self: str(self._link.endpoint), doc="The resolved endpoint.")
    is_acked = property(lambda self: bool(self._link.is_acked), doc="Whether this side's sends wait for acks.")
    protocol = property(lambda self: int(self._link.protocol), doc="2 (v2), 0 (seed), -1 (undecided).")
    state = property(lambda self: str(self._link.state), doc="``'open'``, ``'closing'`` or ``'closed'``.")

    async def send_message(self, data: Bytes) -> None:
        """Sends one message; completes once written (and acked, with acks on). Concurrent sends
        are written in call order, and their acks are awaited concurrently. Cancelling the await
        does not take back a message already handed to the send thread. Raises as
        :meth:`ipcez.Socket.send_message`."""
        payload = to_bytes(data)
        waiter = await asyncio.wrap_future(self._sender.submit(self._link.send_frame, payload))
        if waiter is not None:
            await _wait_ack(waiter, self._link.ack_timeout)

    write = send_message

    async def read(self, max_bytes: Optional[int] = None, timeout: Optional[float] = None) -> bytes:
        """The next whole message; ``max_bytes`` and ``timeout`` as in :meth:`ipcez.Socket.read`.
        Cancelling it consumes nothing."""
        self._check_reader()
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0):
            raise invalid_arg("max_bytes must be a non-negative int or None, got %r" % (max_bytes,), "value")
        wait = check_timeout("timeout", timeout, True) if timeout is not None else self._default_timeout
        return bytes(await _get(self._link.inbox, wait, max_bytes))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._check_reader()
        while True:
            try:
                yield bytes(await _get(self._link.inbox, None))
            except IpcezError as error:
                if is_clean(error):
                    return
                raise

    def message_handler(self, callback: Callback) -> None:
        """Calls ``callback`` in the running loop with each message, then once with ``ok=False``
        and the terminal error, then never again. A coroutine callback is awaited before the
        next call."""
        if not callable(callback):
            raise invalid_arg("callback must be callable")
        if self._handler is not None:
            raise invalid_arg("a message handler is already set on this socket", "value")

        async def run() -> None:
            while True:
                try:
                    message = await _get(self._link.inbox, None)
                    result = MessageResult(True, bytes(message), None)
                except IpcezError as error:
                    result = MessageResult(False, None, error)
                outcome = callback(result)
                if outcome is not None:
                    await outcome
                if not result.ok:
                    return

        self._handler = asyncio.get_running_loop().create_task(run())

    def _check_reader(self) -> None:
        if self._handler is not None:
            raise invalid_arg("this socket has a message handler: read through it, not read()/iteration", "value")

    async def disconnect(self) -> None:
        """Closes the connection; idempotent. Later sends raise :class:`ConnectionLostError`."""
        await asyncio.get_running_loop().run_in_executor(None, self._link.close)
        self._sender.shutdown(wait=False)

    close = disconnect

    async def __aenter__(self) -> "Socket":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()


class Server:
    """A listening endpoint (asyncio). Owns its listener and every accepted socket."""

    def __init__(self, listener: Any, default_timeout: Optional[float]) -> None:
        self._listener = listener
        self._default_timeout = default_timeout
        self._task: Optional["asyncio.Task[None]"] = None

    endpoint = property(lambda self: str(self._listener.endpoint), doc="The resolved endpoint.")
    transport = property(lambda self: str(self._listener.transport), doc="``'unix'`` or ``'ws'``.")

    async def accept(self, timeout: Optional[float] = None) -> Socket:
        """The next accepted connection; ``TimeoutError`` after ``timeout`` s;
        :class:`ConnectionLostError` once closed."""
        wait = check_timeout("timeout", timeout, True)
        return Socket(await _get(self._listener.inbox, wait), self._default_timeout)

    async def __aiter__(self) -> AsyncIterator[Socket]:
        while True:
            try:
                yield Socket(await _get(self._listener.inbox, None), self._default_timeout)
            except IpcezError as error:
                if is_clean(error):
                    return
                raise

    def connection_handler(self, callback: Callable[[Socket], Union[None, Awaitable[None]]]) -> None:
        """Calls ``callback`` in the running loop with each accepted connection."""
        if not callable(callback):
            raise invalid_arg("callback must be callable")

        async def run() -> None:
            async for socket in self:
                outcome = callback(socket)
                if outcome is not None:
                    await outcome

        self._task = asyncio.get_running_loop().create_task(run())

    async def close(self) -> None:
        """Stops accepting, closes every accepted socket, releases the endpoint. Idempotent."""
        await asyncio.get_running_loop().run_in_executor(None, self._listener.close)

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _in_thread(function: Callable[[], Any], release: Callable[[Any], None]) -> Any:
    """Runs a blocking open in a thread; if the caller is cancelled meanwhile, what it opens is
    released when it finishes instead of leaking."""
    future = asyncio.get_running_loop().run_in_executor(None, function)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(lambda f: release(f.result()) if not f.cancelled() and f.exception() is None else None)
        raise


async def connect(
    endpoint: str,
    *,
    target: Optional[str] = None,
    os: Optional[str] = None,
    ack: Optional[bool] = None,
    ack_timeout: float = 5.0,
    timeout: Optional[float] = None,
    headers: Optional["dict[str, str]"] = None,
) -> Socket:
    """As :func:`ipcez.connect`, awaitable."""
    link, wait = await _in_thread(
        lambda: open_link(endpoint, target, os, ack, ack_timeout, timeout, headers), lambda r: r[0].close()
    )
    return Socket(link, wait)


async def listen(
    endpoint: str,
    *,
    target: Optional[str] = None,
    os: Optional[str] = None,
    ack: Optional[bool] = None,
    ack_timeout: float = 5.0,
    timeout: Optional[float] = None,
    pending_timeout: float = DEFAULT_PENDING_TIMEOUT,
) -> Server:
    """As :func:`ipcez.listen`, awaitable."""
    listener, wait = await _in_thread(
        lambda: open_listener(endpoint, target, os, ack, ack_timeout, timeout, pending_timeout),
        lambda r: r[0].close(),
    )
    return Server(listener, wait)
