#!/usr/bin/env python3
"""An ipcez peer in Python, standard library only, written from the wire contract alone.

It speaks the local wire format (every message is a 4-byte big-endian unsigned length, then
that many payload bytes; at most 4 MiB) over a Unix domain socket, and the delivery
acknowledgement protocol over POSIX named semaphores (Linux), through ctypes:

  names   the socket's canonical path (realpath of its directory + "/" + file name), with
          "%" -> "%25", "_" -> "%5F", then every "/" -> "_", prefixed "/ipcez", suffixed
          ".data_ready" / ".data_acked"  (abstract "@name": "/ipcez@" + escaped name)
  sender  post "data ready", write the frame, wait up to the timeout for "data acked"
  reader  for each frame read: take one "data ready" if there is one (never block),
          post "data acked", then deliver

The counts are per endpoint and shared by both directions, so an ack this side waits for
may be taken by the peer's own waiting send; the peer repays it when it reads what this side
sends. A peer must therefore keep reading (and acking) while it waits for an ack, or two
peers sending at each other wait for each other until the timeout. This peer does: while a
send waits, incoming frames are read, acked and queued for receive().
  listener  refuse if a live server answers; unlink + create the pair fresh; bind (0600);
            on close: unlink the pair first, then remove the socket file
  client    connect, then open the pair (creating it if missing); never unlink it

Usage:
  ipcez_peer.py listen <socket-path> [--count N] [--no-ack]
      serve; print "listening <path>"; echo every message back (acked); after N messages
      (default: forever) close and exit 0.
  ipcez_peer.py send <socket-path> <message>... [--replies N] [--no-ack] [--ack-timeout S]
      connect, send each message (acked), read N replies (acking them), print each reply as
      one line of UTF-8 text, exit 0. Exit 124 on an ack timeout, 1 when no server answers.
"""

import ctypes
import ctypes.util
import errno
import os
import select
import socket
import stat
import struct
import sys
import time

HEADER = struct.Struct(">I")
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


# ---------------------------------------------------------------- names

def canonical_socket_path(path):
    if path.startswith("@"):
        return path
    path = os.path.abspath(path)
    directory, name = os.path.split(path)
    return os.path.join(os.path.realpath(directory), name)


def _escape(text):
    return text.replace("%", "%25").replace("_", "%5F").replace("/", "_")


def signal_names(canonical_path):
    if canonical_path.startswith("@"):
        base = "/ipcez@" + _escape(canonical_path[1:])
    else:
        base = "/ipcez" + _escape(canonical_path)
    return base + ".data_ready", base + ".data_acked"


# ---------------------------------------------------------------- POSIX named semaphores

class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_sem_open = _libc.sem_open
_sem_open.restype = ctypes.c_void_p
_sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
_sem_post = _libc.sem_post
_sem_post.argtypes = [ctypes.c_void_p]
_sem_trywait = _libc.sem_trywait
_sem_trywait.argtypes = [ctypes.c_void_p]
_sem_close = _libc.sem_close
_sem_close.argtypes = [ctypes.c_void_p]
_sem_unlink = _libc.sem_unlink
_sem_unlink.argtypes = [ctypes.c_char_p]
_sem_clockwait = getattr(_libc, "sem_clockwait", None)
if _sem_clockwait is not None:
    _sem_clockwait.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec)]
CLOCK_MONOTONIC = 1


class Semaphore:
    def __init__(self, name):
        self.name = name
        handle = _sem_open(name.encode(), os.O_CREAT, 0o600, 0)
        if not handle:  # SEM_FAILED is (sem_t *) 0 on glibc
            err = ctypes.get_errno()
            raise OSError(err, "sem_open %s: %s" % (name, os.strerror(err)))
        self.handle = handle

    def post(self):
        if _sem_post(self.handle) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "sem_post: " + os.strerror(err))

    def try_take(self):
        if _sem_trywait(self.handle) == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EAGAIN:
            return False
        raise OSError(err, "sem_trywait: " + os.strerror(err))

    def wait(self, timeout_s):
        """Waits on the monotonic clock; True when taken, False on timeout."""
        deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + timeout_s
        while True:
            if _sem_clockwait is not None:
                ts = _Timespec(int(deadline), int((deadline % 1) * 1e9))
                if _sem_clockwait(self.handle, CLOCK_MONOTONIC, ctypes.byref(ts)) == 0:
                    return True
                err = ctypes.get_errno()
                if err == errno.EINTR:
                    continue
                if err == errno.ETIMEDOUT:
                    return False
                raise OSError(err, "sem_clockwait: " + os.strerror(err))
            # No sem_clockwait in this libc: poll, still on the monotonic clock.
            if self.try_take():
                return True
            if time.clock_gettime(time.CLOCK_MONOTONIC) >= deadline:
                return False
            time.sleep(0.001)

    def close(self):
        if self.handle:
            _sem_close(self.handle)
            self.handle = None


def unlink_semaphore(name):
    if _sem_unlink(name.encode()) != 0:
        err = ctypes.get_errno()
        if err != errno.ENOENT:
            raise OSError(err, "sem_unlink %s: %s" % (name, os.strerror(err)))


class SignalPair:
    def __init__(self, socket_path, fresh):
        self.ready_name, self.acked_name = signal_names(canonical_socket_path(socket_path))
        if fresh:
            unlink_semaphore(self.ready_name)
            unlink_semaphore(self.acked_name)
        self.ready = Semaphore(self.ready_name)
        self.acked = Semaphore(self.acked_name)

    def unlink(self):
        unlink_semaphore(self.ready_name)
        unlink_semaphore(self.acked_name)

    def close(self):
        self.ready.close()
        self.acked.close()


# ---------------------------------------------------------------- framed connection

class AckTimeout(Exception):
    pass


class Connection:
    def __init__(self, sock, pair, ack_timeout_s=5.0):
        self.sock = sock
        self.pair = pair
        self.ack_timeout_s = ack_timeout_s
        self.buffer = b""
        self.pending = []  # messages read (and acked) while a send waited for its ack
        self.closed = False

    def send(self, payload):
        if len(payload) > MAX_MESSAGE_BYTES:
            raise ValueError("message of %d bytes exceeds the limit" % len(payload))
        if self.pair:
            self.pair.ready.post()
        self.sock.sendall(HEADER.pack(len(payload)) + payload)
        if not self.pair:
            return
        deadline = time.monotonic() + self.ack_timeout_s
        while not self.pair.acked.wait(0.005):
            self._read_available()
            if time.monotonic() >= deadline:
                raise AckTimeout("no data acked within %.1f s" % self.ack_timeout_s)

    def _read_available(self):
        """Reads and acks every whole frame already readable, without blocking."""
        while not self.closed and select.select([self.sock], [], [], 0)[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                return
            self.buffer += chunk
            while True:
                message = self._take_frame()
                if message is None:
                    break
                self.pending.append(message)

    def _take_frame(self):
        if len(self.buffer) < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self.buffer)
        if length > MAX_MESSAGE_BYTES:
            raise ValueError("peer announced %d bytes, over the limit" % length)
        if len(self.buffer) < HEADER.size + length:
            return None
        message = self.buffer[HEADER.size:HEADER.size + length]
        self.buffer = self.buffer[HEADER.size + length:]
        if self.pair:
            self.pair.ready.try_take()  # never block on it
            self.pair.acked.post()
        return message

    def receive(self):
        """The next whole message, or None when the peer closed."""
        while True:
            if self.pending:
                return self.pending.pop(0)
            message = self._take_frame()
            if message is not None:
                return message
            if self.closed:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                return None
            self.buffer += chunk


def _address(path):
    return "\0" + path[1:] if path.startswith("@") else path


def listen(path, count, use_ack):
    path = path if path.startswith("@") else os.path.abspath(path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(_address(path))
        print("a live server already answers at " + path, file=sys.stderr)
        return 3
    except (ConnectionRefusedError, FileNotFoundError):
        pass
    finally:
        probe.close()
    pair = SignalPair(path, fresh=True) if use_ack else None
    if not path.startswith("@") and os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode):
        os.unlink(path)  # stale: no live server answered above
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        server.bind(_address(path))
    finally:
        os.umask(old_umask)
    server.listen(16)
    print("listening " + path, flush=True)
    handled = 0
    try:
        while count is None or handled < count:
            client, _ = server.accept()
            conn = Connection(client, pair)
            with client:
                while count is None or handled < count:
                    message = conn.receive()
                    if message is None:
                        break
                    handled += 1
                    conn.send(message)
    finally:
        if pair:
            pair.unlink()
            pair.close()
        server.close()
        if not path.startswith("@"):
            os.unlink(path)
    return 0


def send(path, messages, replies, use_ack, ack_timeout_s):
    path = path if path.startswith("@") else os.path.abspath(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(_address(path))
    except (ConnectionRefusedError, FileNotFoundError) as error:
        print("no server at %s: %s" % (path, error), file=sys.stderr)
        return 1
    pair = SignalPair(path, fresh=False) if use_ack else None
    conn = Connection(sock, pair, ack_timeout_s)
    try:
        for message in messages:
            conn.send(message.encode())
        for _ in range(replies):
            reply = conn.receive()
            if reply is None:
                print("connection closed before all replies arrived", file=sys.stderr)
                return 3
            print(reply.decode("utf-8", "replace"), flush=True)
    except AckTimeout as error:
        print(str(error), file=sys.stderr)
        return 124
    finally:
        sock.close()
        if pair:
            pair.close()
    return 0


def main(argv):
    args = list(argv)
    use_ack = "--no-ack" not in args
    args = [a for a in args if a != "--no-ack"]

    def option(name, default):
        if name in args:
            i = args.index(name)
            value = args[i + 1]
            del args[i:i + 2]
            return value
        return default

    count = option("--count", None)
    replies = int(option("--replies", "0"))
    ack_timeout_s = float(option("--ack-timeout", "5"))
    if len(args) < 2 or args[0] not in ("listen", "send"):
        print(__doc__, file=sys.stderr)
        return 64
    if args[0] == "listen":
        return listen(args[1], None if count is None else int(count), use_ack)
    return send(args[1], args[2:], replies, use_ack, ack_timeout_s)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
