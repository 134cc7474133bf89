#!/usr/bin/env python3
"""Python <-> Node.js: the ipcez binding beside a raw Python ``socket`` client, same run, same server.

The server is the TypeScript ipcez echo server with acks off. The raw client writes plain
frames (so the server serves it in seed mode); the binding, with ``ack=False``, still
negotiates protocol v2, so its sends do not wait for acks but both sides send the ``ACK``
headers of what they read (a few bytes per read, counted in its figures). For each size: round trip (send one, read its echo) and throughput (a thread
sends N while the main thread reads the N echoes). Prints each figure and the ratio
binding / raw (goal: >= 0.7 at 64 B and 4 MiB). Needs the workspace built.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
import ipcez  # noqa: E402

PEER = os.path.join(os.path.dirname(HERE), "tests", "fixtures", "ts-peer.mjs")
HEADER = struct.Struct(">I")


class Raw:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)

    def send(self, payload: bytes) -> None:
        self.sock.sendall(HEADER.pack(len(payload)) + payload)

    def _exact(self, n: int) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:])
            if not k:
                raise EOFError
            got += k
        return buf

    def read(self) -> bytes:
        (n,) = HEADER.unpack(self._exact(4))
        return bytes(self._exact(n))

    def close(self) -> None:
        self.sock.close()


def round_trip(client: object, payload: bytes, count: int) -> float:
    send, read = client.send, client.read  # type: ignore[attr-defined]
    start = time.perf_counter()
    for _ in range(count):
        send(payload)
        read()
    return count / (time.perf_counter() - start)


def throughput(client: object, payload: bytes, count: int) -> float:
    send, read = client.send, client.read  # type: ignore[attr-defined]
    start = time.perf_counter()
    sender = threading.Thread(target=lambda: [send(payload) for _ in range(count)])
    sender.start()
    for _ in range(count):
        read()
    sender.join()
    return count * len(payload) / (time.perf_counter() - start)


class Binding:
    def __init__(self, path: str) -> None:
        self.sock = ipcez.connect(path, target="local", os="linux", ack=False)
        self.send = self.sock.send_message
        self.read = self.sock.read

    def close(self) -> None:
        self.sock.disconnect()


def main() -> None:
    directory = tempfile.mkdtemp(prefix="ipz-bench-")
    path = os.path.join(directory, "b.sock")
    node = subprocess.Popen(["node", PEER, "server", path, "0"], stdout=subprocess.PIPE, cwd=os.path.dirname(HERE))
    try:
        assert node.stdout is not None and node.stdout.readline().startswith(b"listening")
        cases = [("64 B", 64, 20000, 200000), ("64 KiB", 65536, 2000, 4000), ("4 MiB", 4 * 1024 * 1024, 30, 60)]
        print("%-8s %-10s %14s %14s %7s" % ("size", "measure", "raw socket", "ipcez", "ratio"))
        for label, size, rt_count, tp_count in cases:
            payload = os.urandom(size)
            for measure, fn, count, unit in (
                ("round trip", round_trip, rt_count, "rt/s"),
                ("throughput", throughput, tp_count, "MB/s"),
            ):
                results = {}
                for name, make in (("raw", Raw), ("ipcez", Binding)):
                    client = make(path)
                    fn(client, payload, max(1, count // 10))  # warm up
                    best = max(fn(client, payload, count) for _ in range(3))
                    client.close()
                    results[name] = best / 1e6 if unit == "MB/s" else best
                print("%-8s %-10s %9.1f %-4s %9.1f %-4s %6.2fx" % (label, measure, results["raw"], unit, results["ipcez"], unit, results["ipcez"] / results["raw"]))
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(10)
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(directory)


if __name__ == "__main__":
    main()
