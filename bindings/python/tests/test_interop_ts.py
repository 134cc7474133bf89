"""The Python binding against the TypeScript package, in child processes (protocol v2, which
both speak), plus the install and the README examples (the seed-mode one included)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

from _support import CLI, LOCAL, PACKAGE_ROOT, REPO_ROOT, TS_PEER, Node, TempDirTest, node_available, shm_entries, ts_echo

import ipcez
from ipcez import _names, _posix, framing

PATTERN = bytes(i % 251 for i in range(framing.MAX_MESSAGE_BYTES))


@unittest.skipUnless(node_available(), "node or the built TypeScript packages are missing (run the workspace build)")
class PythonClientTypeScriptListener(TempDirTest):
    def test_both_ack_modes_whole_messages_empty_and_4_mib(self) -> None:
        for ack in (True, False):
            with self.subTest(ack=ack):
                path = self.path()
                node = ts_echo(self, path, no_ack=not ack)
                with ipcez.connect(path, **LOCAL, ack=ack, ack_timeout=20) as client:  # type: ignore[arg-type]
                    # The TypeScript listener advertises protocol v2, whatever its own ack option.
                    self.assertEqual(client.protocol, 2)
                    for message in (b"", b"x" * 64, PATTERN, b"", b"end"):
                        client.send_message(message)
                        self.assertEqual(client.read(timeout=20), message)
                node.stop()
                self.assertEqual(shm_entries(path), [])  # the TS listener unlinked its pair

    def test_many_threads_send_acked_messages_at_once_and_every_echo_arrives(self) -> None:
        path = self.path()
        ts_echo(self, path)
        with ipcez.connect(path, **LOCAL, ack_timeout=30) as client:  # type: ignore[arg-type]
            errors: "list[BaseException]" = []

            def sender(t: int) -> None:
                try:
                    for i in range(25):
                        client.send_message(b"t%d-%d" % (t, i))
                except BaseException as error:
                    errors.append(error)

            threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
            for thread in threads:
                thread.start()
            echoes = [client.read(timeout=30) for _ in range(200)]
            for thread in threads:
                thread.join(30)
            self.assertEqual(errors, [])
            self.assertEqual(sorted(echoes), sorted(b"t%d-%d" % (t, i) for t in range(8) for i in range(25)))
            for t in range(8):  # each thread's messages stay in its order
                mine = [e for e in echoes if e.startswith(b"t%d-" % t)]
                self.assertEqual(mine, [b"t%d-%d" % (t, i) for i in range(25)])

    def test_a_listener_without_acks_still_acks_what_it_reads_in_v2(self) -> None:
        path = self.path()
        node = Node(self, [CLI, "listen", path, "--no-ack"])
        with ipcez.connect(path, **LOCAL, ack=True, ack_timeout=10) as client:  # type: ignore[arg-type]
            self.assertEqual(client.protocol, 2)
            client.send_message(b"confirmed")  # acked in-band: the listener read it
        self.assertEqual(node.line(), "confirmed")
        node.stop()
        self.assertEqual(shm_entries(path), [])

    def test_a_typescript_listener_replaces_a_stale_v2_marker_with_its_own(self) -> None:
        path = self.path()
        marker = _names.signal_names(_names.canonical_socket_path(path)).marker
        _posix.close_semaphore(_posix.open_semaphore(marker))  # left by a crashed v2 listener
        self.addCleanup(_posix.unlink, marker)
        node = ts_echo(self, path)
        with ipcez.connect(path, **LOCAL) as client:  # type: ignore[arg-type]
            self.assertEqual(client.protocol, 2)
            client.send_message(b"still works")
            self.assertEqual(client.read(timeout=10), b"still works")
        node.stop()
        self.assertEqual(shm_entries(path), [])  # the listener unlinked marker and pair

    def test_a_killed_listener_is_a_lost_connection(self) -> None:
        path = self.path()
        node = Node(self, [TS_PEER, "server", path, "1"])
        client = ipcez.connect(path, **LOCAL, ack=False)  # type: ignore[arg-type]
        self.addCleanup(client.disconnect)
        node.kill()
        with self.assertRaises(ipcez.ConnectionLostError):
            client.read(timeout=10)
        for entry in shm_entries(path):  # killed: it could not unlink its pair
            os.unlink("/dev/shm/" + entry)


@unittest.skipUnless(node_available(), "node or the built TypeScript packages are missing (run the workspace build)")
class TypeScriptClientPythonListener(TempDirTest):
    def test_both_ack_modes_whole_messages_empty_and_4_mib(self) -> None:
        for ack in (True, False):
            with self.subTest(ack=ack):
                path = self.path()
                server = ipcez.listen(path, **LOCAL, ack=ack, ack_timeout=20)  # type: ignore[arg-type]
                self.addCleanup(server.close)

                def echo_all() -> None:
                    for sock in server:
                        for message in sock:
                            sock.send_message(message)

                import threading

                threading.Thread(target=echo_all, daemon=True).start()
                node = Node(self, [TS_PEER, "client", path, "1" if ack else "0", "0", "64", str(framing.MAX_MESSAGE_BYTES), "0"], ready_line=False)
                self.assertEqual(node.wait(60), 0, node.stderr)
                self.assertEqual(node.line(), "ok 4")
                server.close()
                self.assertFalse(os.path.exists(path))

    def test_the_cli_sends_to_a_python_listener(self) -> None:
        path = self.path()
        with ipcez.listen(path, **LOCAL) as server:  # type: ignore[arg-type]
            node = Node(self, [CLI, "send", path, "hello", "--count", "3"], ready_line=False)
            sock = server.accept(timeout=20)
            self.assertEqual([sock.read(timeout=10) for _ in range(3)], [b"hello"] * 3)
            self.assertEqual(node.wait(30), 0, node.stderr)

    def test_a_client_killed_mid_frame_ends_the_connection_with_an_error_not_a_message(self) -> None:
        path = self.path()
        with ipcez.listen(path, **LOCAL) as server:  # type: ignore[arg-type]
            node = Node(self, [TS_PEER, "partial", path])  # prints "ready" after half a 4 MiB frame
            sock = server.accept(timeout=10)
            node.kill()
            with self.assertRaises(ipcez.ConnectionLostError) as caught:
                list(sock)
            self.assertIn("middle of a frame", str(caught.exception))


def _private_tmp_works() -> bool:
    """Whether this process may run a child in a mount namespace of its own (root)."""
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /tmp"], capture_output=True
    )
    return probe.returncode == 0


_HARNESS = """
import os, subprocess, sys
node = subprocess.Popen(["node", sys.argv[1], "echo", "/tmp/app.sock"], stdout=subprocess.PIPE,
                        env=dict(os.environ, target="local", os="linux"))
try:
    assert node.stdout.readline().startswith(b"listening /tmp/app.sock"), "no echo server"
    namespace = {}
    exec(compile(sys.argv[2], "README.md", "exec"), namespace)  # the snippet, verbatim
    print(repr(namespace["data"]))
finally:
    node.terminate()
    node.wait()
"""


@unittest.skipUnless(node_available(), "node or the built TypeScript packages are missing (run the workspace build)")
class ReadmeExample(unittest.TestCase):
    def test_the_seed_example_runs_as_written_against_a_typescript_echo_server(self) -> None:
        """The snippet hard-codes /tmp/app.sock: it runs verbatim in a mount namespace with a
        private /tmp and /dev/shm, so it never meets a real /tmp/app.sock."""
        if not _private_tmp_works():
            self.skipTest("SEED EXAMPLE NOT RUN: a private /tmp needs unshare and root (the snippet hard-codes /tmp/app.sock)")
        with open(os.path.join(PACKAGE_ROOT, "README.md")) as f:
            seed = re.findall(r"```python fragment\n(.*?)```", f.read(), re.S)[0]
        self.assertIn('ipcez.connect("/tmp/app.sock")', seed)
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("target", "os")}
        env["PYTHONPATH"] = os.path.join(PACKAGE_ROOT, "src")
        # The checkout itself may live under /tmp (CI clones into a private temp directory): it
        # is bound to /mnt first and back at its own path inside the new /tmp, so the private
        # /tmp hides everything but it.
        script = (
            'mount --bind "$4" /mnt && mount -t tmpfs none /tmp && mkdir -p "$4" && mount --bind /mnt "$4"'
            ' && mount -t tmpfs none /dev/shm && exec "$0" -c "$1" "$2" "$3"'
        )
        result = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script, sys.executable, _HARNESS, CLI, seed, REPO_ROOT],
            env=env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "b'hello'\n")


class ReadmeBlocks(TempDirTest):
    def test_every_unmarked_python_block_runs_on_its_own_and_leaves_nothing(self) -> None:
        with open(os.path.join(PACKAGE_ROOT, "README.md")) as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
        self.assertGreaterEqual(len(blocks), 2)
        private_tmp = os.path.join(self.dir, "tmp")  # the blocks' temp files land here
        os.mkdir(private_tmp)
        env = dict(os.environ, PYTHONPATH=os.path.join(PACKAGE_ROOT, "src"), target="local", os="linux", TMPDIR=private_tmp)
        for block in blocks:
            with self.subTest(block=block.splitlines()[0]):
                result = subprocess.run([sys.executable, "-"], input=block, env=env, cwd=self.dir, capture_output=True, text=True, timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(os.listdir(private_tmp), [])
                marker = private_tmp.replace("_", "%5F").replace("/", "_")
                self.assertEqual([e for e in os.listdir("/dev/shm") if marker in e], [])


def _builder() -> str:
    """An interpreter that can build the package offline (setuptools and wheel importable)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(candidate) and subprocess.run([candidate, "-c", "import setuptools, wheel, venv"], capture_output=True).returncode == 0:
            return candidate
    return ""


class Install(unittest.TestCase):
    @unittest.skipUnless(_builder(), "no interpreter here has setuptools and wheel (apt-get install python3-setuptools python3-wheel python3-venv)")
    def test_pip_installs_the_package_offline_into_a_fresh_venv_with_its_type_marker(self) -> None:
        with tempfile.TemporaryDirectory(prefix="ipz-venv-") as d:
            venv = os.path.join(d, "venv")
            subprocess.run([_builder(), "-m", "venv", "--system-site-packages", venv], check=True, timeout=120)
            python = os.path.join(venv, "bin", "python")
            # Built from a copy: an in-tree build would leave build/ and *.egg-info in the clone.
            source = os.path.join(d, "source")
            shutil.copytree(PACKAGE_ROOT, source, ignore=shutil.ignore_patterns("node_modules", "__pycache__", "build", "*.egg-info"))
            result = subprocess.run(
                [python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps", source],
                capture_output=True, text=True, timeout=300, cwd=d,
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            check = "import ipcez, os; print(ipcez.__file__); print(os.path.exists(os.path.join(os.path.dirname(ipcez.__file__), 'py.typed')))"
            out = subprocess.run([python, "-c", check], capture_output=True, text=True, timeout=60, cwd=d).stdout.split()
            self.assertTrue(out[0].startswith(venv), out)
            self.assertEqual(out[1], "True")
