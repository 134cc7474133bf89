"""The asyncio API: the same contract, awaitable."""

from __future__ import annotations

import asyncio
import os
import unittest
from typing import List

from _support import LOCAL, PENDING, TempDirTest, node_available, ts_echo

import ipcez
import ipcez.aio


class Aio(TempDirTest):
    def run_async(self, coro: "asyncio.Future[None]") -> None:
        asyncio.run(asyncio.wait_for(coro, 60))

    def test_v2_echo_both_ways_iteration_and_handler(self) -> None:
        path = self.path()

        async def main() -> None:
            async with await ipcez.aio.listen(path, **LOCAL, pending_timeout=PENDING) as server:  # type: ignore[arg-type]
                async def echo(sock: ipcez.aio.Socket) -> None:
                    async for message in sock:
                        await sock.send_message(message)

                server.connection_handler(echo)
                async with await ipcez.aio.connect(path, **LOCAL) as client:  # type: ignore[arg-type]
                    self.assertEqual(client.protocol, 2)
                    big = os.urandom(ipcez.MAX_MESSAGE_BYTES)
                    await asyncio.gather(*(client.send_message(m) for m in (b"a", b"", big, "z")))
                    self.assertEqual([await client.read(timeout=10) for _ in range(4)], [b"a", b"", big, b"z"])
                    with self.assertRaises(ipcez.FrameTooLargeError):
                        await client.send_message(b"x" * (ipcez.MAX_MESSAGE_BYTES + 1))
                    with self.assertRaises(TimeoutError):
                        await client.read(timeout=0.05)

        self.run_async(main())

    def test_a_cancelled_read_consumes_nothing_and_the_handler_gets_messages_then_one_error(self) -> None:
        path = self.path()

        async def main() -> None:
            server = await ipcez.aio.listen(path, **LOCAL, pending_timeout=PENDING)  # type: ignore[arg-type]
            client = await ipcez.aio.connect(path, **LOCAL)  # type: ignore[arg-type]
            peer = await server.accept(timeout=5)
            pending = asyncio.ensure_future(peer.read())
            await asyncio.sleep(0.05)
            pending.cancel()
            await client.send_message(b"kept")
            self.assertEqual(await peer.read(timeout=5), b"kept")
            results: List[ipcez.MessageResult] = []
            done = asyncio.Event()

            async def handler(result: ipcez.MessageResult) -> None:
                results.append(result)
                if not result.ok:
                    done.set()

            await client.send_message(b"one")
            peer.message_handler(handler)
            await client.disconnect()
            await asyncio.wait_for(done.wait(), 10)
            self.assertEqual([r.ok for r in results], [True, False])
            self.assertIsInstance(results[1].error, ipcez.ConnectionLostError)
            await server.close()
            await server.close()

        self.run_async(main())

    @unittest.skipUnless(node_available(), "node or the built TypeScript packages are missing")
    def test_against_a_typescript_listener_in_protocol_v2(self) -> None:
        path = self.path()
        ts_echo(self, path)

        async def main() -> None:
            async with await ipcez.aio.connect(path, **LOCAL) as client:  # type: ignore[arg-type]
                self.assertEqual(client.protocol, 2)
                await client.send_message(b"v2")
                self.assertEqual(await client.read(timeout=10), b"v2")

        self.run_async(main())

    def test_acked_sends_pipeline_and_one_nobody_acks_times_out(self) -> None:
        from test_protocol_v2 import REPLY2, RawServer, ack, recv_exact

        path = self.path()

        def script(conn: "object", index: int) -> None:
            recv_exact(conn, 4)  # type: ignore[arg-type]
            conn.sendall(REPLY2)  # type: ignore[attr-defined]
            if index == 0:
                recv_exact(conn, 3 * 6)  # type: ignore[arg-type]  # all three frames before any ACK
                conn.sendall(ack(3))  # type: ignore[attr-defined]
            # the second connection's frame is never acked

        RawServer(self, path, script)

        async def main() -> None:
            async with await ipcez.aio.connect(path, **LOCAL, ack_timeout=30) as client:  # type: ignore[arg-type]
                # Serialized acked sends would wait for the first ACK before writing the second.
                await asyncio.gather(*(client.send_message(b"m%d" % i) for i in range(3)))
            async with await ipcez.aio.connect(path, **LOCAL, ack_timeout=0.3) as client:  # type: ignore[arg-type]
                with self.assertRaises(ipcez.RecipientAckTimeoutError):
                    await client.send_message(b"last")

        self.run_async(main())

    def test_detection_errors_surface_from_the_await(self) -> None:
        async def main() -> None:
            with self.assertRaises(ipcez.UnsupportedCombinationError):
                await ipcez.aio.connect("/tmp/x.sock", target="remote", os="linux")

        self.run_async(main())
