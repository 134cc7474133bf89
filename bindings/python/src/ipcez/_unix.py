"""Unix domain sockets: connecting (with protocol discovery) and listening (in the documented order).

Listener order: make sure no live server answers (else EndpointInUseError, touching nothing)
and remove a stale socket file -> remove a stale v2 marker -> start the seed pair fresh
(unlink, create) -> create the v2 marker -> bind (socket file mode 0600). Close: unlink the
marker, unlink the pair, stop accepting, close every accepted connection, remove the socket
file if it is still the one this listener made, close the handles.
Client: connect -> marker there? HELLO and wait for the answer : seed mode (open the pair,
creating it if missing, when acks are on; never unlink it).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
from typing import Optional, Tuple

from . import _posix, framing
from ._inbox import Inbox, mark_clean
from ._names import UnixEndpoint, canonical_socket_path, resolve_unix_endpoint, signal_names, sun_path_bytes
from ._stream import ClosedBeforeReply, SignalPair, StreamConnection
from .errors import (
    AckUnavailableError,
    ConnectionLostError,
    EndpointInUseError,
    InvalidEndpointError,
    IoError,
    RecipientAckTimeoutError,
)


def _io_error(what: str, endpoint: str, error: OSError) -> IoError:
    return IoError("%s %s: %s" % (what, endpoint, error.strerror or error), cause=error, path=endpoint)


def _open_socket(target: UnixEndpoint, timeout: Optional[float]) -> socket.socket:
    """Connects. Without a timeout a full listen backlog blocks in connect(2) until the server
    accepts; with one, Linux answers a non-blocking connect with EAGAIN instead of waiting, so
    it is retried (every 5 ms) until the timeout."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if timeout is None:
            sock.connect(target.address)
            return sock
        deadline = time.monotonic() + timeout
        sock.setblocking(False)
        while True:
            try:
                sock.connect(target.address)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        "connecting to %s took longer than %g s (its listen backlog is full)" % (target.endpoint, timeout)
                    ) from None
                time.sleep(min(0.005, remaining))
        sock.setblocking(True)
        return sock
    except OSError as error:
        sock.close()
        if isinstance(error, TimeoutError):
            raise
        raise _io_error("connecting to", target.endpoint, error) from error


def _client_pair(canonical: str) -> SignalPair:
    names = signal_names(canonical)
    ready = _posix.open_semaphore(names.ready)
    try:
        acked = _posix.open_semaphore(names.acked)
    except BaseException:
        _posix.close_semaphore(ready)
        raise
    return SignalPair(ready, acked)


def _marker_exists(canonical: str, ack: bool) -> bool:
    try:
        return _posix.exists(signal_names(canonical).marker)
    except AckUnavailableError:
        if ack:
            raise
        return False  # no named semaphores (or a name too long): seed mode without acks


def connect_unix(
    endpoint: str, *, ack: bool, ack_timeout: float, timeout: Optional[float]
) -> StreamConnection:
    target = resolve_unix_endpoint(endpoint)
    sock = _open_socket(target, timeout)
    try:
        canonical = canonical_socket_path(target.endpoint)
        if _marker_exists(canonical, ack):
            sock.sendall(framing.encode_control(framing.HELLO, 2))
            connection = StreamConnection(
                sock,
                endpoint=target.endpoint,
                mode="hello-sent",
                ack=ack,
                ack_timeout=ack_timeout,
                open_pair=lambda: _client_pair(canonical),
            )
            sock = None  # type: ignore[assignment]
            if not connection.wait_decided(ack_timeout):
                connection.close()
                raise RecipientAckTimeoutError(
                    ack_timeout, "no answer to HELLO from %s within %g s" % (target.endpoint, ack_timeout)
                )
            terminal = connection.terminal
            if connection.protocol >= 0:
                return connection  # decided: what happened next (even an error) is the socket's
            connection.close()
            if not isinstance(terminal, ClosedBeforeReply):
                raise terminal  # type: ignore[misc]
            # A stale marker before a seed-only server: connect again, without HELLO.
            sock = _open_socket(target, timeout)
        pair = _client_pair(canonical) if ack else None
        return StreamConnection(
            sock,
            endpoint=target.endpoint,
            mode="seed",
            ack=ack,
            ack_timeout=ack_timeout,
            pair=pair,
            owns_pair=True,
        )
    except BaseException:
        if sock is not None:
            sock.close()
        raise


def _probe(target: UnixEndpoint) -> str:
    """'live', 'refused' or 'missing': connects once (a live server sees one client come and go)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(target.address)
        return "live"
    except (ConnectionRefusedError, FileNotFoundError):
        return "refused" if os.path.lexists(target.address) or target.is_abstract else "missing"
    except OSError as error:
        if error.errno == errno.ECONNREFUSED:
            return "refused"
        raise _io_error("checking for a live server at", target.endpoint, error) from error
    finally:
        probe.close()


def _clear_path(target: UnixEndpoint) -> None:
    if target.is_abstract:
        if _probe(target) == "live":
            raise EndpointInUseError(target.endpoint)
        return
    try:
        before = os.lstat(target.address)
    except FileNotFoundError:
        return
    except OSError as error:
        raise _io_error("inspecting", target.endpoint, error) from error
    if not stat.S_ISSOCK(before.st_mode):
        raise InvalidEndpointError(
            target.endpoint,
            "a file that is not a socket exists at this path; it was left untouched (remove it or choose another path)",
        )
    state = _probe(target)
    if state == "live":
        raise EndpointInUseError(target.endpoint)
    if state == "refused":
        # Stale: remove it only if it is still the file we inspected.
        try:
            again = os.lstat(target.address)
            if again.st_dev == before.st_dev and again.st_ino == before.st_ino:
                os.unlink(target.address)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise _io_error("removing the stale socket file", target.endpoint, error) from error


_umask_lock = threading.Lock()


def _bind_to(server: socket.socket, target: UnixEndpoint, address: str) -> None:
    try:
        server.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise EndpointInUseError(target.endpoint, cause=error) from error
        raise _io_error("listening on", target.endpoint, error) from error


def _bind(target: UnixEndpoint) -> Tuple[socket.socket, Optional[Tuple[int, int]]]:
    """Binds and listens, creating the socket file with mode 0600 and no moment where it is
    wider: bind inside a fresh 0700 directory next to the target, chmod, then link(2) it to the
    target (link never replaces a file: EEXIST means someone bound the path meanwhile). The
    process umask is not touched (it is process-wide: other threads create files too), except
    when the private name would not fit in sun_path (a path within a few bytes of the limit):
    then the bind runs under umask 0177."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if target.is_abstract:
            _bind_to(server, target, target.address)
            server.listen(128)
            return server, None
        directory = os.path.dirname(target.address)
        if len(os.path.join(directory, ".ipcez-XXXXXXXX/s").encode()) >= sun_path_bytes(sys.platform):
            with _umask_lock:
                previous = os.umask(0o177)
                try:
                    _bind_to(server, target, target.address)
                finally:
                    os.umask(previous)
        else:
            try:
                private = tempfile.mkdtemp(prefix=".ipcez-", dir=directory)
            except OSError as error:
                raise _io_error("listening on", target.endpoint, error) from error
            try:
                private_file = os.path.join(private, "s")
                _bind_to(server, target, private_file)
                try:
                    os.chmod(private_file, 0o600)
                    os.link(private_file, target.address)
                except OSError as error:
                    if error.errno == errno.EEXIST:
                        raise EndpointInUseError(target.endpoint, cause=error) from error
                    raise _io_error("listening on", target.endpoint, error) from error
            finally:
                shutil.rmtree(private, ignore_errors=True)
        server.listen(128)
        info = os.lstat(target.address)
        return server, (info.st_dev, info.st_ino)
    except BaseException:
        server.close()
        raise


class UnixListener:
    """Owns its listening socket, its socket file, its named semaphores and every accepted connection."""

    transport = "unix"

    def __init__(self, endpoint: str, *, ack: bool, ack_timeout: float, pending_timeout: float) -> None:
        target = resolve_unix_endpoint(endpoint)
        self.endpoint = target.endpoint
        self._target = target
        self._ack = ack
        self._ack_timeout = ack_timeout
        self._pending_timeout = pending_timeout
        self.inbox: Inbox[StreamConnection] = Inbox()
        self._connections: "set[StreamConnection]" = set()
        self._lock = threading.Lock()
        self._closed = False
        _clear_path(target)
        self._names = None
        self._pair: Optional[SignalPair] = None
        try:
            self._names = signal_names(canonical_socket_path(target.endpoint))
            _posix.unlink(self._names.marker)  # stale marker of a crashed listener
        except AckUnavailableError:
            if ack:
                raise
            self._names = None  # no named semaphores here: seed mode only, without acks
        try:
            if self._names is not None:
                ready = _posix.open_semaphore(self._names.ready, fresh=True)
                try:
                    acked = _posix.open_semaphore(self._names.acked, fresh=True)
                except BaseException:
                    _posix.close_semaphore(ready)
                    raise
                self._pair = SignalPair(ready, acked)
                _posix.close_semaphore(_posix.open_semaphore(self._names.marker, fresh=True))
            self._server, self._identity = _bind(target)
        except BaseException:
            self._release_names()
            raise
        self._thread = threading.Thread(target=self._accept_loop, name="ipcez-accept", daemon=True)
        self._thread.start()

    def _release_names(self) -> None:
        if self._names is not None:
            _posix.unlink(self._names.marker)
            _posix.unlink(self._names.ready)
            _posix.unlink(self._names.acked)
        if self._pair is not None:
            self._pair.close()
            self._pair = None

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._server.accept()
            except OSError as error:
                if not self._closed:
                    self.inbox.end(_io_error("accepting on", self.endpoint, error))
                return
            with self._lock:
                if self._closed:
                    sock.close()
                    return
                for old in [c for c in self._connections if c.terminal is not None]:
                    self._connections.discard(old)
                connection = StreamConnection(
                    sock,
                    endpoint=self.endpoint,
                    mode="pending",
                    ack=self._ack,
                    ack_timeout=self._ack_timeout,
                    pair=self._pair if self._ack else None,
                    pending_timeout=self._pending_timeout,
                    is_server=True,
                )
                self._connections.add(connection)
            self.inbox.push(connection)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                already = True
            else:
                already = False
                self._closed = True
        if already:
            self._thread.join()
            return
        if self._names is not None:
            _posix.unlink(self._names.marker)
            _posix.unlink(self._names.ready)
            _posix.unlink(self._names.acked)
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() (Linux)
        except OSError:
            pass
        self._thread.join()
        self._server.close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()
        if self._identity is not None:
            try:
                info = os.lstat(self._target.address)
                if (info.st_dev, info.st_ino) == self._identity:
                    os.unlink(self._target.address)
            except OSError:
                pass  # already gone, or no longer ours to remove
        if self._pair is not None:
            self._pair.close()
            self._pair = None
        self.inbox.end(mark_clean(ConnectionLostError("local-close", "listener on %s closed" % self.endpoint)))


__all__ = ["connect_unix", "UnixListener"]
