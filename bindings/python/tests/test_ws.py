"""WebSocket through the optional websockets package: Python <-> Python (ipcez.v2 acks) and
Python <-> the TypeScript ws listener and client (without acks, and with ipcez.v2 acks).

The interpreter running the suite may lack websockets (pyenv's python3 does; Debian's
/usr/bin/python3 with python3-websockets has it): then this module runs itself under one
that has it, and is skipped, saying so, only where none has it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import unittest

from _support import HERE, Echo, Node, TempDirTest, node_available

import ipcez

HAS_WEBSOCKETS = importlib.util.find_spec("websockets") is not None


def _other_interpreter() -> str:
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and os.path.realpath(candidate) != os.path.realpath(sys.executable):
            if subprocess.run([candidate, "-c", "import websockets"], capture_output=True).returncode == 0:
                return candidate
    return ""


if not HAS_WEBSOCKETS:

    class WebSocketUnderAnotherInterpreter(unittest.TestCase):
        def test_the_websocket_suite_passes_under_an_interpreter_that_has_websockets(self) -> None:
            other = _other_interpreter()
            if not other:
                self.skipTest("NO INTERPRETER WITH websockets HERE: the WebSocket suite did not run (apt-get install python3-websockets)")
            result = subprocess.run([other, "-m", "unittest", "-v", "test_ws"], cwd=HERE, capture_output=True, text=True, timeout=300)
            # Shown indented, so that a log summary does not count the inner run twice.
            inner = "".join("  | " + line + "\n" for line in result.stderr.splitlines())
            sys.stderr.write("\n  test_ws under %s:\n%s" % (other, inner))
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
            self.assertIn("OK", result.stderr)

        def test_without_websockets_a_ws_endpoint_names_the_missing_package(self) -> None:
            with self.assertRaises(ipcez.UnsupportedPlatformError) as caught:
                ipcez.connect("ws://127.0.0.1:1/x")
            self.assertIn("websockets", str(caught.exception))

else:

    class WebSocket(TempDirTest):
        def test_python_to_python_with_and_without_acks(self) -> None:
            big = os.urandom(ipcez.MAX_MESSAGE_BYTES)
            for server_ack in (True, False):
                echo = Echo(self, "ws://127.0.0.1:0/ipc", ack=server_ack)
                self.assertRegex(echo.server.endpoint, r"^ws://127\.0\.0\.1:\d+/ipc$")
                for ack in (True, False):
                    with self.subTest(server_ack=server_ack, ack=ack), ipcez.connect(echo.server.endpoint, ack=ack) as client:
                        self.assertEqual((client.protocol, client.is_acked, client.transport), (2 if ack else 0, ack, "ws"))
                        for message in (b"", b"x" * 64, big, "t\u00e9xt"):
                            client.send_message(message)
                            expected = message.encode() if isinstance(message, str) else message
                            self.assertEqual(client.read(timeout=20), expected)
                        with self.assertRaises(ipcez.FrameTooLargeError):
                            client.send_message(big + b"!")
                echo.server.close()

        def raw_server(self, script: "object") -> str:
            """A websockets server selecting ipcez.v2 that runs ``script(ws)`` (a coroutine function)."""
            import websockets

            from ipcez._ws import _run

            async def start() -> "object":
                return await websockets.serve(lambda ws, path="": script(ws), "127.0.0.1", 0, subprotocols=["ipcez.v2"])  # type: ignore[operator]

            server = _run(start())

            async def stop() -> None:
                server.close()  # type: ignore[attr-defined]
                await server.wait_closed()  # type: ignore[attr-defined]

            self.addCleanup(lambda: _run(stop()))
            return "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

        def test_a_v2_send_nobody_acks_times_out_and_bad_control_text_is_a_protocol_error(self) -> None:
            import asyncio

            async def never_ack(ws: "object") -> None:
                await ws.send("hello 2")  # type: ignore[attr-defined]
                await ws.recv()  # type: ignore[attr-defined]  # "x": not acked
                await ws.recv()  # type: ignore[attr-defined]  # "y": answered with a bad ack
                await ws.send("ack 0")  # type: ignore[attr-defined]
                await asyncio.sleep(5)

            with ipcez.connect(self.raw_server(never_ack), ack=True, ack_timeout=0.3) as client:
                with self.assertRaises(ipcez.RecipientAckTimeoutError):
                    client.send_message(b"x")
                with self.assertRaises(ipcez.ProtocolError):
                    client.send_message(b"y")  # fails at once with the connection's error
                with self.assertRaises(ipcez.ProtocolError):
                    client.read(timeout=5)

            async def silent(ws: "object") -> None:
                await asyncio.sleep(1)

            with self.assertRaises(ipcez.AckUnavailableError):
                ipcez.connect(self.raw_server(silent), ack=True, ack_timeout=0.3)

        def test_the_server_acks_what_it_reads_and_its_close_ends_the_client(self) -> None:
            server = ipcez.listen("ws://127.0.0.1:0/ipc")
            self.addCleanup(server.close)
            with ipcez.connect(server.endpoint, ack=True, ack_timeout=0.3) as client:
                peer = server.accept(timeout=5)
                client.send_message(b"acked")  # the server acks what it reads, unread or not
                self.assertEqual(peer.read(timeout=5), b"acked")
                peer.disconnect()
                with self.assertRaises(ipcez.ConnectionLostError):
                    client.read(timeout=5)

        def test_the_asyncio_api_over_websocket_with_acks(self) -> None:
            import asyncio

            import ipcez.aio

            async def main() -> None:
                async with await ipcez.aio.listen("ws://127.0.0.1:0/aio") as server:
                    async with await ipcez.aio.connect(server.endpoint, ack=True) as client:
                        peer = await server.accept(timeout=5)
                        await asyncio.gather(*(client.send_message(b"%d" % i) for i in range(10)))
                        self.assertEqual([await peer.read(timeout=5) for _ in range(10)], [b"%d" % i for i in range(10)])
                        await peer.send_message(b"back")
                        self.assertEqual(await client.read(timeout=5), b"back")

            asyncio.run(asyncio.wait_for(main(), 60))

        def test_a_wrong_path_is_a_handshake_error_with_its_status(self) -> None:
            server = ipcez.listen("ws://127.0.0.1:0/ipc")
            self.addCleanup(server.close)
            with self.assertRaises(ipcez.WsError) as caught:
                ipcez.connect(server.endpoint.replace("/ipc", "/other"))
            self.assertEqual(caught.exception.status, 404)

        def test_refused_and_wss(self) -> None:
            server = ipcez.listen("ws://127.0.0.1:0/ipc")
            endpoint = server.endpoint
            server.close()
            with self.assertRaises(ipcez.IoError):
                ipcez.connect(endpoint)
            with self.assertRaises(ipcez.InvalidEndpointError):
                ipcez.connect("wss://127.0.0.1:1/x")

        @unittest.skipUnless(node_available(), "node or the built TypeScript packages are missing")
        def test_against_the_typescript_ws_listener(self) -> None:
            from _support import CLI

            node = Node(self, [CLI, "echo", "ws://127.0.0.1:0/ts"])
            endpoint = (node.first_line or "").split(" ", 1)[1]
            with ipcez.connect(endpoint) as client:  # acks off by default on ws
                self.assertEqual(client.protocol, 0)
                client.send_message(b"seed ws")
                self.assertEqual(client.read(timeout=10), b"seed ws")
            # It speaks ipcez.v2: it selects the subprotocol, says hello 2 and acks what it reads.
            with ipcez.connect(endpoint, ack=True, ack_timeout=10) as client:
                self.assertEqual((client.protocol, client.is_acked), (2, True))
                for i in range(20):
                    client.send_message(b"acked %d" % i)  # returns once the TypeScript side acked it
                self.assertEqual([client.read(timeout=10) for _ in range(20)], [b"acked %d" % i for i in range(20)])

        @unittest.skipUnless(node_available(), "node or the built TypeScript packages are missing")
        def test_the_typescript_client_against_a_python_ws_listener(self) -> None:
            from _support import CLI

            with ipcez.listen("ws://127.0.0.1:0/py") as server:
                node = Node(self, [CLI, "send", server.endpoint, "over ws", "--count", "2"], ready_line=False)
                sock = server.accept(timeout=20)
                self.assertEqual(sock.protocol, 0)
                self.assertEqual([sock.read(timeout=10) for _ in range(2)], [b"over ws"] * 2)
                self.assertEqual(node.wait(30), 0, node.stderr)
