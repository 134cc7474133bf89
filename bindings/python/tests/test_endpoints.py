"""Endpoint kinds and limits, timeouts, and running without named semaphores."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from unittest import mock

from _support import LOCAL, PENDING, TempDirTest, shm_entries

import ipcez
from ipcez import _names, _posix


class Endpoints(TempDirTest):
    def test_an_abstract_socket_speaks_v2_and_leaves_nothing(self) -> None:
        endpoint = "@ipz-" + uuid.uuid4().hex[:12]
        base = _names.signal_names(endpoint).ready[1:].rsplit(".", 1)[0]
        with ipcez.listen(endpoint, **LOCAL, pending_timeout=PENDING) as server:  # type: ignore[arg-type]
            self.assertEqual(server.endpoint, endpoint)
            self.assertEqual(len([f for f in os.listdir("/dev/shm") if f.startswith("sem." + base + ".")]), 3)
            with ipcez.connect(endpoint, **LOCAL) as client:  # type: ignore[arg-type]
                self.assertEqual(client.protocol, 2)
                client.send_message(b"abstract")
                self.assertEqual(server.accept(timeout=5).read(timeout=5), b"abstract")
            with self.assertRaises(ipcez.EndpointInUseError):
                ipcez.listen(endpoint, **LOCAL)  # type: ignore[arg-type]
        self.assertEqual([f for f in os.listdir("/dev/shm") if f.startswith("sem." + base + ".")], [])

    def test_a_relative_path_resolves_against_the_working_directory(self) -> None:
        previous = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, previous)
        self.paths.append(os.path.join(self.dir, "rel.sock"))
        with ipcez.listen("rel.sock", **LOCAL) as server:  # type: ignore[arg-type]
            self.assertEqual(server.endpoint, os.path.join(self.dir, "rel.sock"))
            with ipcez.connect("./rel.sock", **LOCAL) as client:  # type: ignore[arg-type]
                self.assertEqual(client.endpoint, server.endpoint)

    def test_a_path_at_the_length_limit_still_gets_mode_0600(self) -> None:
        name = "p" * (107 - len(self.dir) - 1)
        path = self.path(name)
        self.assertEqual(len(path.encode()), 107)
        previous = os.umask(0o022)
        self.addCleanup(os.umask, previous)
        with ipcez.listen(path, **LOCAL, ack=False) as server:  # type: ignore[arg-type]
            self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o600")
            self.assertEqual(os.umask(0o022), 0o022)  # restored
            with ipcez.connect(path, **LOCAL, ack=False) as client:  # type: ignore[arg-type]
                client.send_message(b"x")
                self.assertEqual(server.accept(timeout=5).read(timeout=5), b"x")
        with self.assertRaises(ipcez.InvalidEndpointError):
            ipcez.listen(path + "q", **LOCAL)  # type: ignore[arg-type]

    def test_a_semaphore_name_over_the_limit_refuses_acks_and_works_without(self) -> None:
        path = self.path("_" * 80)  # each "_" is 3 bytes in the name: over 251
        with self.assertRaises(ipcez.AckUnavailableError):
            ipcez.listen(path, **LOCAL)  # type: ignore[arg-type]
        self.assertFalse(os.path.exists(path))
        with ipcez.listen(path, **LOCAL, ack=False) as server:  # type: ignore[arg-type]
            with self.assertRaises(ipcez.AckUnavailableError):
                ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]
            with ipcez.connect(path, **LOCAL, ack=False) as client:  # type: ignore[arg-type]
                self.assertEqual(client.protocol, 0)  # no marker can exist: seed mode
                client.send_message(b"x")
                server.accept(timeout=5)  # the refused connect above
                self.assertEqual(server.accept(timeout=5).read(timeout=5), b"x")

    def test_without_named_semaphores_acks_are_unavailable_and_everything_else_works(self) -> None:
        path = self.path()
        failure = ipcez.AckUnavailableError("POSIX named semaphores are not available (simulated)")
        with mock.patch.object(_posix, "_load", side_effect=failure):
            with self.assertRaises(ipcez.AckUnavailableError):
                ipcez.listen(path, **LOCAL)  # type: ignore[arg-type]
            with ipcez.listen(path, **LOCAL, ack=False) as server:  # type: ignore[arg-type]
                with self.assertRaises(ipcez.AckUnavailableError):
                    ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]
                with ipcez.connect(path, **LOCAL, ack=False) as client:  # type: ignore[arg-type]
                    client.send_message(b"plain")
                    server.accept(timeout=5)  # the refused connect above
                    self.assertEqual(server.accept(timeout=5).read(timeout=5), b"plain")
        self.assertEqual(shm_entries(path), [])

    def test_refused_and_missing_are_io_errors_with_the_os_code(self) -> None:
        path = self.path()
        with self.assertRaises(ipcez.IoError) as caught:
            ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]
        self.assertEqual((caught.exception.os_code, caught.exception.path), ("ENOENT", path))
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()
        with self.assertRaises(ipcez.IoError) as caught:
            ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]
        self.assertEqual(caught.exception.os_code, "ECONNREFUSED")


class Timeouts(TempDirTest):
    def test_connect_timeout_bounds_connecting_and_is_the_default_read_timeout(self) -> None:
        path = self.path()
        with ipcez.listen(path, **LOCAL) as server:  # type: ignore[arg-type]
            with ipcez.connect(path, **LOCAL, timeout=0.2) as client:  # type: ignore[arg-type]
                with self.assertRaises(TimeoutError):
                    client.read()
                accepted = server.accept(timeout=5)
                with self.assertRaises(TimeoutError):
                    accepted.read(timeout=0.05)
                client.send_message(b"after")
                self.assertEqual(accepted.read(timeout=5), b"after")
            with self.assertRaises(TimeoutError):
                server.accept(timeout=0.05)

    def test_connecting_to_a_full_backlog_times_out(self) -> None:
        path = self.path()
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen(0)
        self.addCleanup(listener.close)
        fillers = []
        for _ in range(4):  # fill the backlog (never accepted)
            filler = socket.socket(socket.AF_UNIX)
            filler.setblocking(False)
            try:
                filler.connect(path)
            except BlockingIOError:
                filler.close()
                break
            fillers.append(filler)
        self.addCleanup(lambda: [f.close() for f in fillers])
        with self.assertRaises(TimeoutError):
            ipcez.connect(path, **LOCAL, ack=False, timeout=0.2)  # type: ignore[arg-type]


class ServerApi(TempDirTest):
    def test_connection_handler_state_and_repr(self) -> None:
        path = self.path()
        got = threading.Event()
        seen = []
        with ipcez.listen(path, **LOCAL) as server:  # type: ignore[arg-type]
            self.assertIn(path, repr(server))

            def on(sock: ipcez.Socket) -> None:
                seen.append(sock.read(timeout=5))
                got.set()

            server.connection_handler(on)
            with ipcez.connect(path, **LOCAL) as client:  # type: ignore[arg-type]
                self.assertEqual((client.state, client.transport), ("open", "unix"))
                client.send_message(b"hi")
                self.assertTrue(got.wait(5))
            self.assertEqual(client.state, "closed")
            with self.assertRaises(TypeError):
                server.connection_handler("nope")  # type: ignore[arg-type]
        self.assertEqual(seen, [b"hi"])
        server.close()  # idempotent
        with self.assertRaises(ipcez.ConnectionLostError):
            server.accept(timeout=1)
