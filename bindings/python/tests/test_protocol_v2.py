"""Protocol v2 (in-band acks) between Python peers, and against raw-socket peers that break it."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Callable, List

from _support import LOCAL, PENDING, Echo, TempDirTest

import ipcez
from ipcez import _names, _posix, framing

HELLO2 = framing.encode_control(framing.HELLO, 2)
REPLY2 = framing.encode_control(framing.HELLO_REPLY, 2)
REPLY0 = framing.encode_control(framing.HELLO_REPLY, 0)


def ack(n: int) -> bytes:
    return framing.encode_control(framing.ACK, n)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


class RawServer:
    """A hand-written server: ``script(conn, index)`` runs for each accepted connection. With
    ``marker``, the v2 marker semaphore exists so that clients send HELLO."""

    def __init__(self, test: TempDirTest, path: str, script: Callable[[socket.socket, int], None], marker: bool = True) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.names = _names.signal_names(_names.canonical_socket_path(path))
        if marker:
            _posix.close_semaphore(_posix.open_semaphore(self.names.marker, fresh=True))
        self.errors: List[BaseException] = []
        self.stop = threading.Event()  # set at cleanup: scripts that hold a connection wait on it
        self.servers: List[threading.Thread] = []
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def _run(self, script: Callable[[socket.socket, int], None]) -> None:
        index = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            server = threading.Thread(target=self._serve, args=(script, conn, index), daemon=True)
            self.servers.append(server)
            server.start()
            index += 1

    def _serve(self, script: Callable[[socket.socket, int], None], conn: socket.socket, index: int) -> None:
        with conn:
            try:
                script(conn, index)
            except BaseException as error:  # reported by the test
                self.errors.append(error)
            if conn.fileno() != -1:
                # Held open until cleanup (a script closes it itself to close early): a close
                # with unread data would reset the client before it read what was sent.
                self.stop.wait(30)

    def close(self) -> None:
        self.stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for server in self.servers:
            server.join(5)
        for name in self.names:
            _posix.unlink(name)


class V2BetweenPythonPeers(TempDirTest):
    def test_every_ack_combination_agrees_on_v2_and_echoes_whole_messages(self) -> None:
        big = os.urandom(framing.MAX_MESSAGE_BYTES)
        for server_ack in (True, False):
            for client_ack in (True, False):
                with self.subTest(server_ack=server_ack, client_ack=client_ack):
                    path = self.path("e%d%d.sock" % (server_ack, client_ack))
                    echo = Echo(self, path, **LOCAL, ack=server_ack)
                    with ipcez.connect(path, **LOCAL, ack=client_ack) as client:  # type: ignore[arg-type]
                        self.assertEqual(client.protocol, 2)
                        self.assertEqual(client.is_acked, client_ack)
                        for message in (b"", b"x" * 64, big, b"", "h\u00e9llo"):
                            client.send_message(message)
                            expected = message.encode() if isinstance(message, str) else message
                            self.assertEqual(client.read(timeout=20), expected)
                        self.assertEqual(echo.accepted[0].protocol, 2)
                    # In v2 a client never opens the seed pair: only the listener's three names exist.
                    self.assertEqual(len([e for e in os.listdir("/dev/shm") if _names.signal_names(_names.canonical_socket_path(path)).marker[1:] in e]), 1)
                    echo.server.close()

    def test_the_server_sends_acked_messages_to_the_client_and_many_sends_pipeline(self) -> None:
        path = self.path()
        server = ipcez.listen(path, **LOCAL, pending_timeout=PENDING)  # type: ignore[arg-type]
        self.addCleanup(server.close)
        client = ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]
        self.addCleanup(client.disconnect)
        accepted = server.accept(timeout=5)
        errors: List[BaseException] = []

        def send(i: int) -> None:
            try:
                accepted.send_message(b"m%d" % i)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        received = sorted(client.read(timeout=10) for _ in range(20))
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(received, sorted(b"m%d" % i for i in range(20)))

    def test_a_full_inbox_still_takes_the_acks_of_this_sides_own_sends(self) -> None:
        path = self.path()
        Echo(self, path, **LOCAL)
        big = os.urandom(framing.MAX_MESSAGE_BYTES)
        with ipcez.connect(path, **LOCAL, ack_timeout=10) as client:  # type: ignore[arg-type]
            client.send_message(big)  # its 4 MiB echo fills the inbox: reading new data pauses
            for _ in range(3):
                client.send_message(b"small")  # each ACK still arrives behind the echo
            self.assertEqual(client.read(timeout=10), big)
            self.assertEqual([client.read(timeout=10) for _ in range(3)], [b"small"] * 3)

    def test_both_sides_send_large_acked_messages_at_once_and_nothing_deadlocks(self) -> None:
        # Both writers block in sendall (each frame is larger than the socket buffers) while
        # ACKs for what each side reads queue up behind its own frame: the readers keep reading,
        # so both directions complete.
        path = self.path()
        server = ipcez.listen(path, **LOCAL, pending_timeout=PENDING, ack_timeout=60)  # type: ignore[arg-type]
        self.addCleanup(server.close)
        client = ipcez.connect(path, **LOCAL, ack_timeout=60)  # type: ignore[arg-type]
        self.addCleanup(client.disconnect)
        accepted = server.accept(timeout=5)
        chunk = os.urandom(512 * 1024)
        errors: List[BaseException] = []
        received: "dict[int, List[bytes]]" = {0: [], 1: []}

        def flood(sock: ipcez.Socket) -> None:
            try:
                for _ in range(20):
                    sock.send_message(chunk)
            except BaseException as error:
                errors.append(error)

        def drain(index: int, sock: ipcez.Socket) -> None:
            try:
                for _ in range(20):
                    received[index].append(sock.read(timeout=60))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=flood, args=(s,)) for s in (client, accepted)]
        threads += [threading.Thread(target=drain, args=(i, s)) for i, s in enumerate((client, accepted))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(received, {0: [chunk] * 20, 1: [chunk] * 20})

    def test_read_max_bytes_never_splits_and_keeps_the_message(self) -> None:
        path = self.path()
        Echo(self, path, **LOCAL)
        with ipcez.connect(path, **LOCAL) as client:  # type: ignore[arg-type]
            client.send_message(b"0123456789")
            client.send_message(b"ab")
            with self.assertRaises(ipcez.FrameTooLargeError) as caught:
                client.read(4, timeout=5)
            self.assertEqual((caught.exception.size, caught.exception.limit), (10, 4))
            self.assertEqual(client.read(10, timeout=5), b"0123456789")
            self.assertEqual(client.read(256, timeout=5), b"ab")
            with self.assertRaises(TimeoutError):
                client.read(timeout=0.05)

    def test_messages_then_one_terminal_result_then_nothing(self) -> None:
        path = self.path()
        server = ipcez.listen(path, **LOCAL, pending_timeout=PENDING)  # type: ignore[arg-type]
        self.addCleanup(server.close)
        client = ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]
        accepted = server.accept(timeout=5)
        for m in (b"a", b"", b"c"):
            client.send_message(m)
        results: List[ipcez.MessageResult] = []
        done = threading.Event()

        def handler(result: ipcez.MessageResult) -> None:
            results.append(result)
            if not result.ok:
                done.set()

        accepted.message_handler(handler)  # set after the messages arrived: they were kept
        client.disconnect()
        self.assertTrue(done.wait(5))
        time.sleep(0.05)
        self.assertEqual([r.message for r in results[:3]], [b"a", b"", b"c"])
        self.assertEqual(len(results), 4)
        self.assertIsInstance(results[3].error, ipcez.ConnectionLostError)
        self.assertEqual(results[3].error.reason, "peer-closed")  # type: ignore[union-attr]
        with self.assertRaises(ipcez.ConnectionLostError):
            accepted.send_message(b"late")
        with self.assertRaises(ipcez.ConnectionLostError):
            client.send_message(b"late")

    def test_disconnect_fails_a_send_waiting_for_its_ack_at_once(self) -> None:
        path = self.path()

        def never_ack(conn: socket.socket, _: int) -> None:
            self.assertEqual(recv_exact(conn, 4), HELLO2)
            conn.sendall(REPLY2)
            recv_exact(conn, 5)

        RawServer(self, path, never_ack)
        client = ipcez.connect(path, **LOCAL, ack_timeout=30)  # type: ignore[arg-type]
        failure: List[BaseException] = []
        sender = threading.Thread(target=lambda: self._catch(failure, client.send_message, b"x"))
        sender.start()
        time.sleep(0.2)
        client.disconnect()
        sender.join(5)
        self.assertIsInstance(failure[0], ipcez.ConnectionLostError)  # not the 30 s ack timeout

    @staticmethod
    def _catch(into: List[BaseException], fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except BaseException as error:
            into.append(error)

    def test_an_ack_timeout_leaves_the_slot_and_a_later_ack_settles_in_order(self) -> None:
        path = self.path()
        go = threading.Event()

        def late_acks(conn: socket.socket, _: int) -> None:
            recv_exact(conn, 4)
            conn.sendall(REPLY2)
            recv_exact(conn, 5)  # first frame: not acked in time
            go.wait(5)
            recv_exact(conn, 5)  # second frame
            conn.sendall(ack(2))  # settles both, oldest first
            recv_exact(conn, 1)

        RawServer(self, path, late_acks)
        with ipcez.connect(path, **LOCAL, ack_timeout=0.2) as client:  # type: ignore[arg-type]
            with self.assertRaises(ipcez.RecipientAckTimeoutError) as caught:
                client.send_message(b"one")
            self.assertEqual(caught.exception.timeout, 0.2)
            self.assertEqual(client.state, "open")
            go.set()
            client.send_message(b"two")  # acked by the ACK 2

    def test_a_listener_reclaims_what_a_crashed_one_left(self) -> None:
        path = self.path()
        names = _names.signal_names(_names.canonical_socket_path(path))
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()  # a socket file nobody listens on
        for name in names:
            _posix.close_semaphore(_posix.open_semaphore(name))
        ready = _posix.open_semaphore(names.ready)
        ready.post()  # a stale count must not survive
        _posix.close_semaphore(ready)
        with ipcez.listen(path, **LOCAL) as server:  # type: ignore[arg-type]
            self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o600")
            with self.assertRaises(ipcez.EndpointInUseError):
                ipcez.listen(path, **LOCAL)  # type: ignore[arg-type]
            fresh = _posix.open_semaphore(names.ready)
            self.assertFalse(fresh.try_take())
            _posix.close_semaphore(fresh)
            with self.assertRaises(ipcez.ConnectionLostError):
                server.accept(timeout=5).read(timeout=5)  # the probe of the refused listen() above
            with ipcez.connect(path, **LOCAL) as client:  # type: ignore[arg-type]
                client.send_message(b"x")
                self.assertEqual(server.accept(timeout=5).read(timeout=5), b"x")
        self.assertFalse(os.path.exists(path))

    def test_a_non_socket_file_is_never_touched(self) -> None:
        path = self.path()
        with open(path, "w") as f:
            f.write("keep")
        with self.assertRaises(ipcez.InvalidEndpointError):
            ipcez.listen(path, **LOCAL)  # type: ignore[arg-type]
        with open(path) as f:
            self.assertEqual(f.read(), "keep")


class HostileServers(TempDirTest):
    """A v2 client against servers that break the protocol: each is one ProtocolError (or the
    documented fallback)."""

    def client_error(self, script: Callable[[socket.socket, int], None]) -> BaseException:
        path = self.path()
        RawServer(self, path, script)
        with ipcez.connect(path, **LOCAL, ack_timeout=5) as client:  # type: ignore[arg-type]
            with self.assertRaises(ipcez.IpcezError) as caught:
                while True:
                    client.read(timeout=5)
            with self.assertRaises(ipcez.ConnectionLostError):
                client.send_message(b"after")
            return caught.exception

    def replied(self, tail: bytes) -> Callable[[socket.socket, int], None]:
        def script(conn: socket.socket, _: int) -> None:
            recv_exact(conn, 4)
            conn.sendall(REPLY2 + frame(b"ok") + tail)

        return script

    def test_reserved_control_type(self) -> None:
        self.assertIsInstance(self.client_error(self.replied(bytes.fromhex("80000001"))), ipcez.ProtocolError)
        self.assertIsInstance(self.client_error(self.replied(bytes.fromhex("84000001"))), ipcez.ProtocolError)

    def test_hello_or_a_second_hello_reply_after_v2_was_agreed(self) -> None:
        self.assertIsInstance(self.client_error(self.replied(HELLO2)), ipcez.ProtocolError)
        self.assertIsInstance(self.client_error(self.replied(REPLY2)), ipcez.ProtocolError)

    def test_ack_zero_and_an_ack_for_more_than_was_sent(self) -> None:
        error = self.client_error(self.replied(ack(0)))
        self.assertIsInstance(error, ipcez.ProtocolError)
        self.assertEqual(error.code, "IPCEZ_ERR_PROTOCOL")  # type: ignore[attr-defined]
        self.assertIn("ACK 1", str(self.client_error(self.replied(ack(1)))))

    def test_a_hello_reply_other_than_0_or_2_fails_connect(self) -> None:
        def script(conn: socket.socket, _: int) -> None:
            recv_exact(conn, 4)
            conn.sendall(framing.encode_control(framing.HELLO_REPLY, 1))

        path = self.path()
        RawServer(self, path, script)
        with self.assertRaises(ipcez.ProtocolError):
            ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]

    def test_an_ack_before_the_reply_fails_connect(self) -> None:
        def script(conn: socket.socket, _: int) -> None:
            recv_exact(conn, 4)
            conn.sendall(ack(1))

        path = self.path()
        RawServer(self, path, script)
        with self.assertRaises(ipcez.ProtocolError):
            ipcez.connect(path, **LOCAL)  # type: ignore[arg-type]

    def test_no_answer_in_time_fails_connect_with_an_ack_timeout(self) -> None:
        path = self.path()
        RawServer(self, path, lambda conn, _: None)  # holds the connection, never answers
        with self.assertRaises(ipcez.RecipientAckTimeoutError):
            ipcez.connect(path, **LOCAL, ack_timeout=0.2)  # type: ignore[arg-type]

    def test_a_data_first_answer_is_seed_mode_and_its_one_hello_reply_0_is_consumed(self) -> None:
        def script(conn: socket.socket, _: int) -> None:
            recv_exact(conn, 4)
            conn.sendall(frame(b"first") + REPLY0 + frame(b"second") + REPLY0)

        path = self.path()
        RawServer(self, path, script)
        with ipcez.connect(path, **LOCAL, ack=False) as client:  # type: ignore[arg-type]
            self.assertEqual(client.protocol, 0)
            self.assertEqual(client.read(timeout=5), b"first")
            self.assertEqual(client.read(timeout=5), b"second")
            with self.assertRaises(ipcez.FrameTooLargeError):  # only one HELLO_REPLY 0 is allowed
                client.read(timeout=5)

    def test_a_stale_marker_before_a_seed_only_server_reconnects_without_hello(self) -> None:
        seen: List[bytes] = []

        def script(conn: socket.socket, index: int) -> None:
            if index == 0:
                seen.append(recv_exact(conn, 4))  # HELLO: a seed server closes on it
                conn.close()
                return
            seen.append(recv_exact(conn, 6))
            conn.sendall(frame(b"hi"))

        path = self.path()
        RawServer(self, path, script)
        with ipcez.connect(path, **LOCAL, ack=False) as client:  # type: ignore[arg-type]
            self.assertEqual(client.protocol, 0)
            client.send_message(b"hi")
            self.assertEqual(client.read(timeout=5), b"hi")
        self.assertEqual(seen, [HELLO2, frame(b"hi")])


class HostileClients(TempDirTest):
    """Raw clients against a Python listener."""

    def setUp(self) -> None:
        super().setUp()
        self.endpoint = self.path()
        self.server = ipcez.listen(self.endpoint, **LOCAL, ack=False, pending_timeout=PENDING)  # type: ignore[arg-type]
        self.addCleanup(self.server.close)

    def raw(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(self.endpoint)
        self.addCleanup(sock.close)
        return sock

    def terminal(self, accepted: ipcez.Socket) -> BaseException:
        with self.assertRaises(ipcez.IpcezError) as caught:
            while True:
                accepted.read(timeout=5)
        return caught.exception

    def test_a_control_header_other_than_hello_first(self) -> None:
        for first in (ack(1), REPLY2, bytes.fromhex("80000000"), bytes.fromhex("85000002")):
            with self.subTest(first=first.hex()):
                self.raw().sendall(first)
                self.assertIsInstance(self.terminal(self.server.accept(timeout=5)), ipcez.ProtocolError)

    def test_after_v2_a_second_hello_a_hello_reply_or_a_reserved_type_is_a_protocol_error(self) -> None:
        for tail in (HELLO2, REPLY2, bytes.fromhex("86000001"), ack(0)):
            with self.subTest(tail=tail.hex()):
                sock = self.raw()
                sock.sendall(HELLO2 + frame(b"ok") + tail)
                accepted = self.server.accept(timeout=5)
                self.assertEqual(accepted.read(timeout=5), b"ok")
                self.assertIsInstance(self.terminal(accepted), ipcez.ProtocolError)

    def test_hello_version_1_gets_reply_0_and_seed_mode(self) -> None:
        sock = self.raw()
        sock.sendall(framing.encode_control(framing.HELLO, 1) + frame(b"a"))
        accepted = self.server.accept(timeout=5)
        self.assertEqual(recv_exact(sock, 4), REPLY0)
        self.assertEqual(accepted.read(timeout=5), b"a")
        self.assertEqual(accepted.protocol, 0)

    def test_v2_acks_per_read_and_an_ack_for_nothing_sent_is_a_protocol_error(self) -> None:
        sock = self.raw()
        sock.sendall(HELLO2)
        accepted = self.server.accept(timeout=5)
        self.assertEqual(recv_exact(sock, 4), REPLY2)
        sock.sendall(frame(b"a") + frame(b"b") + frame(b""))
        self.assertEqual([accepted.read(timeout=5) for _ in range(3)], [b"a", b"b", b""])
        acked = 0
        while acked < 3:  # one ACK per read batch; the counts add up to the frames read
            header = int.from_bytes(recv_exact(sock, 4), "big")
            self.assertEqual(header >> 24, framing.ACK)
            acked += header & 0xFFFFFF
        self.assertEqual(acked, 3)
        accepted.send_message(b"x")  # ack=False: written, not waited for
        self.assertEqual(recv_exact(sock, 5), frame(b"x"))
        sock.sendall(ack(1) + ack(1))  # the second acks a frame never sent
        self.assertIsInstance(self.terminal(accepted), ipcez.ProtocolError)

    def test_no_header_in_time_means_seed_and_a_late_hello_gets_reply_0_between_frames(self) -> None:
        self.server.close()
        self.server = ipcez.listen(self.endpoint, **LOCAL, ack=False, pending_timeout=0.1)  # type: ignore[arg-type]
        self.addCleanup(self.server.close)
        sock = self.raw()  # it sends nothing until it has read the server's first frame
        accepted = self.server.accept(timeout=5)
        accepted.send_message(b"early")  # waits for the 100 ms pending rule, then is written
        self.assertEqual(accepted.protocol, 0)
        self.assertEqual(recv_exact(sock, 9), frame(b"early"))
        sock.sendall(HELLO2)
        self.assertEqual(recv_exact(sock, 4), REPLY0)
        sock.sendall(frame(b"z"))
        self.assertEqual(accepted.read(timeout=5), b"z")

    def test_in_seed_mode_a_top_bit_header_is_an_oversized_length(self) -> None:
        sock = self.raw()
        sock.sendall(frame(b"a") + HELLO2)
        accepted = self.server.accept(timeout=5)
        self.assertEqual(accepted.read(timeout=5), b"a")
        error = self.terminal(accepted)
        self.assertIsInstance(error, ipcez.FrameTooLargeError)
        self.assertEqual(error.size, 0x81000002)  # type: ignore[attr-defined]

    def test_an_oversized_length_closes_the_connection_without_allocating_it(self) -> None:
        sock = self.raw()
        sock.sendall(struct.pack(">I", framing.MAX_MESSAGE_BYTES + 1) + b"junk")
        error = self.terminal(self.server.accept(timeout=5))
        self.assertIsInstance(error, ipcez.FrameTooLargeError)
        self.assertEqual((error.size, error.limit), (framing.MAX_MESSAGE_BYTES + 1, framing.MAX_MESSAGE_BYTES))  # type: ignore[attr-defined]
        self.assertEqual(sock.recv(10), b"")  # closed by the listener

    def test_a_truncated_frame_at_close_is_not_a_clean_end(self) -> None:
        sock = self.raw()
        sock.sendall(frame(b"whole") + struct.pack(">I", 100) + b"part")
        sock.close()
        accepted = self.server.accept(timeout=5)
        with self.assertRaises(ipcez.ConnectionLostError) as caught:
            list(accepted)  # iteration raises: the end was not clean
        self.assertIn("middle of a frame", str(caught.exception))
        self.assertIn("8 bytes", str(caught.exception))
