"""One framed connection over a Unix domain socket, with both ack protocols.

Threads: a reader thread per connection reads, acks and keeps what it read (so acks flow
whatever the application does); senders write from their own thread under a write lock.

Modes (the local protocol, see the package README "Protocol"):

    client, marker found:  hello-sent --HELLO_REPLY 2--> v2
                                      --HELLO_REPLY 0 or a data frame--> seed
                                      --closed before any reply--> (reconnect without HELLO)
    client, no marker:     seed
    server:                pending --HELLO v>=2--> v2 (HELLO_REPLY 2 written)
                                   --HELLO v<2--> seed (HELLO_REPLY 0 written)
                                   --a data header, or no whole header within pending_timeout--> seed

Acks in seed mode: a sender posts "data ready", writes, waits for "data acked"; the reader,
for each frame, takes one "data ready" if there is one and posts "data acked". In v2: the
sender queues a slot per data frame; an ACK of n settles the n oldest slots; the reader
counts the data frames of each read (one recv) and queues one ACK with that count before
delivering them. Queued control headers go out at frame boundaries, ahead of any data frame
not yet begun, and the reader never blocks on writing them (so two peers that both write
cannot deadlock).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections import deque
from typing import Callable, Deque, List, Optional, Set

from . import framing
from ._inbox import Inbox, mark_clean
from ._posix import Semaphore, close_semaphore
from ._sync import OK, Waiter, wait_ack
from .errors import (
    ConnectionLostError,
    FrameTooLargeError,
    IpcezError,
    ProtocolError,
)

_SMALL = 64 * 1024
PARK_S = 0.02


class SignalPair:
    """An endpoint's "data ready" / "data acked" semaphores (names from ``_names.signal_names``)."""

    def __init__(self, ready: Semaphore, acked: Semaphore) -> None:
        self.ready = ready
        self.acked = acked

    def close(self) -> None:
        close_semaphore(self.ready)
        close_semaphore(self.acked)


class ClosedBeforeReply(ConnectionLostError):
    """The server closed before answering HELLO (a stale marker before a seed-only server)."""


def _control_name(header: int) -> str:
    return {framing.HELLO: "HELLO", framing.HELLO_REPLY: "HELLO_REPLY", framing.ACK: "ACK"}.get(
        header >> 24, "reserved control type 0x%02x" % (header >> 24)
    )


class StreamConnection:
    """Owns ``sock`` (closed when the connection ends) and, when ``owns_pair``, the pair's handles."""

    transport = "unix"

    def __init__(
        self,
        sock: socket.socket,
        *,
        endpoint: str,
        mode: str,
        ack: bool,
        ack_timeout: float,
        pair: Optional[SignalPair] = None,
        owns_pair: bool = False,
        open_pair: Optional[Callable[[], SignalPair]] = None,
        pending_timeout: float = 0.1,
        is_server: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.ack = ack
        self.ack_timeout = ack_timeout
        self._sock = sock
        self._mode = mode  # 'hello-sent' | 'pending' | 'seed' | 'v2'
        self._pair = pair
        self._owns_pair = owns_pair
        self._open_pair = open_pair
        self._is_server = is_server
        self._pending_deadline = time.monotonic() + pending_timeout
        self._first_header_seen = False
        self._reply0_allowed = False
        self._decoder = framing.FrameDecoder()
        self.inbox: Inbox[bytes] = Inbox(weigh=lambda m: len(m) + framing.HEADER_BYTES)
        self._state = threading.Condition(threading.Lock())
        self._terminal: Optional[IpcezError] = None
        self._send_error: Optional[ConnectionLostError] = None
        self._closing = False
        self._wlock = threading.Lock()
        self._ctrl_queue = bytearray()  # control headers to write, in order
        self._ack_count = 0  # data frames read and not yet acked (merged into ACK headers)
        self._ctrl_partial = b""  # control bytes the reader could only partly write
        self._slots: Deque[Optional[Waiter]] = deque()  # v2: data frames written, not yet acked
        self._waiters: Set[Waiter] = set()
        self._read_lock = threading.Lock()
        self._leading = False  # a thread in read() reads the socket itself
        self._park_until = 0.0
        self._reader = threading.Thread(target=self._run, name="ipcez-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ state

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def protocol(self) -> int:
        """2 once protocol v2 is agreed, 0 in seed mode, -1 while undecided."""
        return 2 if self._mode == "v2" else 0 if self._mode == "seed" else -1

    @property
    def is_acked(self) -> bool:
        return self.ack

    @property
    def state(self) -> str:
        if self._terminal is not None:
            return "closed"
        return "closing" if self._closing else "open"

    def wait_decided(self, timeout: float) -> bool:
        """Blocks until the mode is decided or the connection ended; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._mode in ("hello-sent", "pending") and self._terminal is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state.wait(remaining)
        return True

    @property
    def terminal(self) -> Optional[IpcezError]:
        return self._terminal

    def _decide(self, mode: str) -> None:
        # Called while reading (under _read_lock): by the reader thread or a thread in read().
        if mode == "seed" and self.ack and self._pair is None and self._open_pair is not None:
            self._pair = self._open_pair()
            self._owns_pair = True
        with self._state:
            self._mode = mode
            self._state.notify_all()

    # ------------------------------------------------------------------ sending

    def send(self, payload: bytes) -> None:
        """Writes one frame; with acks on, returns once it is acked (see the module docstring)."""
        waiter = self.send_frame(payload)
        if waiter is not None:
            wait_ack(waiter, self.ack_timeout)

    def send_frame(self, payload: bytes) -> Optional[Waiter]:
        """Writes one frame; with acks on, the :class:`Waiter` its ack settles (the timeout starts
        now: the last byte was handed to the OS)."""
        header = framing.encode_header(len(payload))
        if self._mode in ("hello-sent", "pending"):
            with self._state:
                while self._mode in ("hello-sent", "pending") and self._terminal is None:
                    self._state.wait()
        waiter: Optional[Waiter] = None
        with self._wlock:
            if self._terminal is not None or self._closing:
                raise self._lost_for_send()
            try:
                self._flush_ctrl(blocking=True)
            except OSError as error:
                lost = ConnectionLostError("reset", "writing to %s failed: %s" % (self.endpoint, error), cause=error)
                self._terminate(lost)
                raise lost from error
            if self._mode == "v2":
                waiter = Waiter() if self.ack else None
                with self._state:
                    self._slots.append(waiter)  # settled by the connection's end, if no ACK first
            elif self.ack and self._pair is not None:
                self._pair.ready.post()
            self._write_frame(header, payload)
            try:
                self._flush_ctrl(blocking=True)
            except OSError:
                pass  # the frame is written; the reader sees the failure and ends the connection
        self._flush_after_unlock()
        if not self.ack:
            return None
        if waiter is not None:
            if self._park_until:
                self._unpark()  # the ACK comes in-band: the reader thread must read it
            return waiter
        if self._pair is None:
            return None  # seed mode without a pair: a server whose listener runs without acks
        waiter = self._pair.acked.waiter()
        with self._state:
            terminal = self._terminal
            if terminal is None:
                self._waiters.add(waiter)
        if terminal is not None:
            waiter.settle(terminal)
        else:
            waiter.on_settled(lambda _result: self._forget(waiter))  # type: ignore[arg-type]
        return waiter

    def _forget(self, waiter: Waiter) -> None:
        with self._state:
            self._waiters.discard(waiter)

    def _lost_for_send(self) -> ConnectionLostError:
        if self._send_error is not None:
            return self._send_error
        return ConnectionLostError("local-close", "the connection to %s is closed" % self.endpoint)

    def _write_frame(self, header: bytes, payload: bytes) -> None:
        try:
            if len(payload) < _SMALL:
                self._sock.sendall(header + payload)
                return
            sent = self._sock.sendmsg([header, payload])
            if sent < framing.HEADER_BYTES:
                self._sock.sendall(header[sent:])
                sent = framing.HEADER_BYTES
            if sent < framing.HEADER_BYTES + len(payload):
                self._sock.sendall(memoryview(payload)[sent - framing.HEADER_BYTES :])
        except OSError as error:
            lost = ConnectionLostError("reset", "writing to %s failed: %s" % (self.endpoint, error), cause=error)
            self._terminate(lost)
            raise lost from error

    def _take_ctrl(self) -> bytes:
        with self._state:
            if not self._ctrl_partial and not self._ctrl_queue and not self._ack_count:
                return b""
            out = bytearray(self._ctrl_partial)
            out += self._ctrl_queue
            count = self._ack_count
            while count > 0:
                n = min(count, framing.MAX_CONTROL_VALUE)
                out += framing.encode_control(framing.ACK, n)
                count -= n
            self._ctrl_partial = b""
            self._ctrl_queue = bytearray()
            self._ack_count = 0
            return bytes(out)

    def _flush_ctrl(self, blocking: bool) -> None:
        """Writes queued control headers; the write lock is held. The reader writes without
        blocking and keeps what did not fit for later."""
        if not (self._ctrl_partial or self._ctrl_queue or self._ack_count):
            return
        out = self._take_ctrl()
        if not out:
            return
        if blocking:
            self._sock.sendall(out)
            return
        try:
            sent = self._sock.send(out, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        if sent < len(out):
            with self._state:
                self._ctrl_partial = out[sent:] + self._ctrl_partial
                # A reader that could not write it all polls for writability (see _advance).

    def _has_ctrl(self) -> bool:
        return bool(self._ctrl_partial or self._ctrl_queue or self._ack_count)

    def _flush_after_unlock(self) -> None:
        # The reader may have queued an ACK while this sender held the lock (its try-lock
        # failed): write it now, unless someone else holds the lock (then they will).
        if self._has_ctrl() and self._wlock.acquire(blocking=False):
            try:
                if self._terminal is None:
                    self._flush_ctrl(blocking=True)
            except OSError:
                pass  # the reader sees the failure and ends the connection
            finally:
                self._wlock.release()

    def _queue_control(self, data: bytes = b"", acks: int = 0) -> None:
        with self._state:
            self._ctrl_queue += data
            self._ack_count += acks
        if self._wlock.acquire(blocking=False):
            try:
                self._flush_ctrl(blocking=False)
            finally:
                self._wlock.release()

    # ------------------------------------------------------------------ reading

    # Who reads the socket. The reader thread does, so acks flow whatever the application does.
    # But a thread blocked in read() with nothing queued reads the socket itself ("leads"):
    # handing each message from the reader thread to it would cost a thread wake-up per
    # message. While a reader leads, and for PARK_S after, the reader thread stays parked;
    # a send that starts waiting for an in-band ACK wakes it at once. Socket reads and the
    # decoder are guarded by _read_lock; the reader thread never blocks while holding it.

    def _run(self) -> None:
        try:
            self._reader_loop()
        except BaseException as error:  # a bug: end the connection rather than hang its users
            self._terminate(ConnectionLostError("reset", "internal failure of the reader: %r" % error, cause=error))
            raise
        finally:
            with self._read_lock, self._wlock:  # nobody is in select/recv/sendall on it now
                self._sock.close()
            if self._owns_pair and self._pair is not None:
                self._pair.close()

    def _reader_loop(self) -> None:
        while self._terminal is None:
            if self._park():
                continue
            if self._should_pause():
                self._read_while_paused()
                continue
            wait = None
            if self._mode == "pending":
                wait = max(0.0, self._pending_deadline - time.monotonic())
            writers = [self._sock] if self._ctrl_partial else []
            select.select([self._sock], writers, [], wait)  # wait without the lock
            if self._read_lock.acquire(blocking=False):
                try:
                    self._advance(0)
                finally:
                    self._read_lock.release()

    def _park(self) -> bool:
        with self._state:
            if self._terminal is None and (self._leading or time.monotonic() < self._park_until):
                self._state.wait(PARK_S)
                return True
        return False

    def _unpark(self) -> None:
        with self._state:
            self._park_until = 0.0
            self._state.notify_all()

    def read(self, timeout: Optional[float], max_bytes: Optional[int]) -> bytes:
        """The next message, read by the calling thread itself when nothing is queued."""
        deadline = None if timeout is None else time.monotonic() + timeout
        inbox = self.inbox
        while True:
            has, item = inbox.try_get(max_bytes)  # raises the terminal error once drained
            if has:
                return item  # type: ignore[return-value]
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("nothing arrived within %g s" % timeout)
            if not self._read_lock.acquire(timeout=-1 if remaining is None else remaining):
                continue
            self._leading = True  # only ever changed under _read_lock
            try:
                while inbox.is_empty() and self._terminal is None:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._advance(remaining)
            finally:
                self._leading = False
                # Park the reader thread a little longer (a reading loop comes back soon), unless
                # a send waits for an ACK that only reading brings. No wake-up: it rechecks itself.
                self._park_until = time.monotonic() + PARK_S
                if self._slots:
                    with self._state:
                        if self._awaiting_acks():
                            self._park_until = 0.0
                            self._state.notify_all()
                self._read_lock.release()

    def _advance(self, timeout: Optional[float], limit: int = 0) -> None:
        """One read of the socket (at most ``limit`` bytes when given), waiting at most
        ``timeout`` (``None``: no limit) for it to be readable; the caller holds _read_lock.
        Ends the connection on EOF or failure."""
        sock = self._sock
        try:
            if self._mode == "pending":
                remaining = self._pending_deadline - time.monotonic()
                if remaining <= 0:
                    # Time is up: take what has arrived (a busy host may not have looked yet),
                    # and settle on seed mode if it is not a whole header.
                    if select.select([sock], [], [], 0)[0]:
                        count = sock.recv_into(self._decoder.recv_buffer(), 0, socket.MSG_DONTWAIT)
                        if count == 0:
                            self._terminate(self._eof())
                            return
                        self._process(self._decoder.commit(count))
                    if self._mode == "pending":
                        self._decide("seed")  # no whole header in time: a seed client that only receives
                    return
                timeout = remaining if timeout is None else min(timeout, remaining)
            if self._ctrl_partial:
                readable, writable, _ = select.select([sock], [sock], [], timeout)
                if writable and self._wlock.acquire(blocking=False):
                    try:
                        self._flush_ctrl(blocking=False)
                    finally:
                        self._wlock.release()
                elif writable and not readable:
                    # A sender holds the lock: it writes the control bytes after its frame.
                    readable = select.select([sock], [], [], 0.01)[0]
            elif timeout is None:
                readable = None  # a reader in read() without a timeout: block in recv itself
            elif timeout == 0:
                readable = [sock]  # the caller saw it readable; MSG_DONTWAIT copes if not
            else:
                readable = select.select([sock], [], [], timeout)[0]
            if readable is None:
                count = sock.recv_into(self._decoder.recv_buffer(), limit)
            elif not readable:
                return
            else:
                try:
                    count = sock.recv_into(self._decoder.recv_buffer(), limit, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return
            if count == 0:
                self._terminate(self._eof())
                return
            self._process(self._decoder.commit(count))
        except IpcezError as error:
            self._terminate(error)
        except OSError as error:
            if self._closing:
                self._terminate(mark_clean(ConnectionLostError("local-close", cause=error)))
            else:
                self._terminate(
                    ConnectionLostError("reset", "reading from %s failed: %s" % (self.endpoint, error), cause=error)
                )

    def _awaiting_acks(self) -> bool:
        """Whether a send of this side waits for an in-band ACK (call with _state held)."""
        return any(w is not None and w.result is None for w in self._slots)

    def _should_pause(self) -> bool:
        """Stop taking new data frames: the inbox is past its high-water mark, and no send of
        this side waits for an in-band ACK (which may sit behind data not yet read)."""
        if not self.inbox.is_full():
            return False
        with self._state:
            return not self._awaiting_acks()

    def _read_while_paused(self) -> None:
        """The inbox is past its high-water mark: read no new data frame, but finish the frame in
        progress and keep taking control headers. Acks for this side's own sends travel on this
        connection: a consumer that is slow to read must not make its own sends time out."""
        sock = self._sock
        while self._should_pause() and self._terminal is None:
            readable, writable, _ = select.select([sock], [sock] if self._ctrl_partial else [], [], 0.05)
            if writable and self._wlock.acquire(blocking=False):
                try:
                    self._flush_ctrl(blocking=False)
                except OSError:
                    pass  # the next read reports it
                finally:
                    self._wlock.release()
            if not readable:
                continue
            with self._read_lock:
                need = self._decoder.needed()
                if need == 0:
                    try:
                        head = sock.recv(framing.HEADER_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return  # the next read reports it
                    if head and (len(head) < framing.HEADER_BYTES or not head[0] & 0x80):
                        need = 0  # a data frame is next: it waits for room
                    else:
                        need = framing.HEADER_BYTES  # a control header, or the end of the stream
                if need:
                    self._advance(0, need)
                    continue
            self.inbox.wait_space(0.05)

    def _eof(self) -> IpcezError:
        pending = self._decoder.pending_bytes
        if self._closing:
            return mark_clean(ConnectionLostError("local-close"))
        if pending:
            return ConnectionLostError(
                "peer-closed",
                "the peer closed %s in the middle of a frame (%d bytes of an unfinished frame received)"
                % (self.endpoint, pending),
            )
        if self._mode == "hello-sent":
            return ClosedBeforeReply("peer-closed", "the server closed before answering HELLO")
        return mark_clean(ConnectionLostError("peer-closed"))

    def _process(self, items: List[framing.Item]) -> None:
        messages: List[bytes] = []
        frames = 0
        try:
            for item in items:
                if isinstance(item, int):
                    self._control(item)
                    continue
                self._first_header_seen = True
                if self._mode == "pending":
                    self._decide("seed")
                elif self._mode == "hello-sent":
                    self._reply0_allowed = True  # the server answered data-first: seed mode
                    self._decide("seed")
                if self._mode == "v2":
                    frames += 1
                elif self.ack and self._pair is not None:
                    self._pair.ready.try_take()  # never block on it
                    self._pair.acked.post()
                messages.append(item)
        finally:
            if frames:
                self._queue_control(acks=frames)  # acked before delivery
            if messages:
                self.inbox.push_all(messages)

    def _control(self, header: int) -> None:
        kind = header >> 24
        value = header & framing.MAX_CONTROL_VALUE
        first = not self._first_header_seen
        self._first_header_seen = True
        mode = self._mode
        if mode == "pending":
            if kind != framing.HELLO:
                raise ProtocolError("%s as the first header of a connection (only HELLO may come first)" % _control_name(header))
            self._queue_control(framing.encode_control(framing.HELLO_REPLY, 2 if value >= 2 else 0))
            self._decide("v2" if value >= 2 else "seed")
        elif mode == "hello-sent":
            if kind != framing.HELLO_REPLY:
                raise ProtocolError("%s while waiting for HELLO_REPLY" % _control_name(header))
            if value not in (0, 2):
                raise ProtocolError("HELLO_REPLY %d (only 0 and 2 are valid)" % value)
            self._decide("v2" if value == 2 else "seed")
        elif mode == "v2":
            if kind != framing.ACK:
                raise ProtocolError("%s after protocol v2 was agreed" % _control_name(header))
            if value == 0:
                raise ProtocolError("ACK 0")
            self._settle_slots(value)
        elif self._reply0_allowed and header == (framing.HELLO_REPLY << 24):
            self._reply0_allowed = False  # the reply that follows a data-first answer
        elif first and kind == framing.HELLO and self._is_server:
            # A HELLO that came after this server had already chosen seed mode (late).
            self._queue_control(framing.encode_control(framing.HELLO_REPLY, 0))
        else:
            raise FrameTooLargeError(header, framing.MAX_MESSAGE_BYTES, "announced")

    def _settle_slots(self, count: int) -> None:
        with self._state:
            if count > len(self._slots):
                raise ProtocolError(
                    "ACK %d, but only %d data frames were sent and not yet acknowledged" % (count, len(self._slots))
                )
            settled = [self._slots.popleft() for _ in range(count)]
        for waiter in settled:
            if waiter is not None:
                waiter.settle(OK)

    # ------------------------------------------------------------------ ending

    def _terminate(self, error: IpcezError) -> None:
        with self._state:
            if self._terminal is not None:
                return
            self._terminal = error
            if isinstance(error, ConnectionLostError):
                self._send_error = error
            else:
                self._send_error = ConnectionLostError(
                    "local-close", "closed after an error: %s" % error, cause=error
                )
            waiters = list(self._waiters)
            slots = [w for w in self._slots if w is not None]
            self._state.notify_all()
        for waiter in waiters + slots:
            waiter.settle(error)  # sends waiting for an ack fail at once
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.inbox.end(error)

    def close(self) -> None:
        """Graceful: waits for a frame being written, writes queued control headers, then closes.
        Idempotent. The reader thread closes the socket and releases owned handles."""
        with self._state:
            if self._closing or self._terminal is not None:
                closing_already = True
            else:
                closing_already = False
                self._closing = True
        if not closing_already:
            with self._wlock:
                try:
                    if self._terminal is None:
                        self._flush_ctrl(blocking=True)
                except OSError:
                    pass
                self._terminate(mark_clean(ConnectionLostError("local-close")))
        if threading.current_thread() is not self._reader:
            self._reader.join()


__all__ = ["StreamConnection", "SignalPair", "ClosedBeforeReply"]
