"""Shared test helpers: the package from src/, temp paths, TypeScript peers as child processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))
sys.path.insert(0, os.path.join(PACKAGE_ROOT, "src"))

import ipcez  # noqa: E402
from ipcez import _names  # noqa: E402

CLI = os.path.join(REPO_ROOT, "packages", "ipcez", "bin", "ipcez.js")
TS_PEER = os.path.join(HERE, "fixtures", "ts-peer.mjs")
LOCAL = {"target": "local", "os": "linux"}
#: Listeners whose clients must end up in protocol v2 wait this long for the client's HELLO:
#: the 0.1 s default is a real-time bound that a loaded machine can miss (then seed mode).
PENDING = 30.0
NODE_ENV = dict(os.environ, target="local", os="linux")


def node_available() -> bool:
    return shutil.which("node") is not None and os.path.exists(os.path.join(REPO_ROOT, "packages", "ipcez", "dist"))


def shm_entries(path: str) -> List[str]:
    """The /dev/shm files of an endpoint's semaphores (pair and marker)."""
    try:
        base = _names.signal_names(_names.canonical_socket_path(path)).ready[1:].rsplit(".data_ready", 1)[0]
    except ipcez.AckUnavailableError:
        return []  # a name too long to exist
    return sorted(f for f in os.listdir("/dev/shm") if f.startswith("sem." + base + "."))


class TempDirTest(unittest.TestCase):
    """Each test gets a fresh short temp dir, removed even when it fails; and checks that no
    semaphore of its endpoints is left in /dev/shm."""

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="ipz-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.paths: List[str] = []
        self.addCleanup(self._check_shm)

    def path(self, name: str = "") -> str:
        path = os.path.join(self.dir, name or "s%d.sock" % len(self.paths))
        self.paths.append(path)
        return path

    def _check_shm(self) -> None:
        for path in self.paths:
            left = shm_entries(path)
            for entry in left:  # clean up for the next test, then fail
                os.unlink(os.path.join("/dev/shm", entry))
            self.assertEqual(left, [], "semaphores left behind for %s" % path)


class Node:
    """A TypeScript peer in a child process; killed (and waited for) at cleanup."""

    def __init__(self, test: unittest.TestCase, args: List[str], ready_line: bool = True) -> None:
        self.proc = subprocess.Popen(
            ["node", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=NODE_ENV,
            cwd=PACKAGE_ROOT,
            start_new_session=True,
        )
        test.addCleanup(self.stop)
        self.stderr = b""
        self._err_thread = threading.Thread(target=self._drain_err, daemon=True)
        self._err_thread.start()
        self.first_line: Optional[str] = None
        if ready_line:
            line = self.proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
            if not line.startswith("listening ") and not line.startswith("ready"):
                self.stop()
                raise AssertionError("node peer did not start: %r %r" % (line, self.stderr))
            self.first_line = line

    def _drain_err(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr += chunk

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().decode().rstrip("\n")

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._err_thread.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def ts_echo(test: unittest.TestCase, endpoint: str, no_ack: bool = False) -> Node:
    return Node(test, [CLI, "echo", endpoint] + (["--no-ack"] if no_ack else []))


class Echo:
    """A Python listener that echoes every message of every connection (through a message
    handler); closed at cleanup. ``accepted`` lists the accepted sockets."""

    def __init__(self, test: unittest.TestCase, endpoint: str, **options: object) -> None:
        if not endpoint.startswith("ws"):
            options.setdefault("pending_timeout", PENDING)
        self.server = ipcez.listen(endpoint, **options)  # type: ignore[arg-type]
        test.addCleanup(self.server.close)
        self.accepted: List[ipcez.Socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        for sock in self.server:
            self.accepted.append(sock)

            def on(result: ipcez.MessageResult, sock: ipcez.Socket = sock) -> None:
                if result.ok:
                    try:
                        sock.send_message(result.message or b"")
                    except ipcez.IpcezError:
                        pass  # the client left before its echo

            sock.message_handler(on)
