"""Unit tests: the codec (golden vectors), semaphore names, endpoint resolution, detection, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unittest

from _support import PACKAGE_ROOT, REPO_ROOT

import ipcez
from ipcez import _names, framing
from ipcez.errors import invalid_arg

VECTORS = os.path.join(REPO_ROOT, "packages", "framing", "golden-vectors.json")


def _hex(spec: object) -> bytes:
    if isinstance(spec, str):
        return bytes.fromhex(spec)
    if isinstance(spec, dict):
        unit = bytes.fromhex(spec["repeat"])
        return (unit * (spec["length"] // len(unit) + 1))[: spec["length"]]
    return b"".join(_hex(part) for part in spec)  # type: ignore[union-attr]


class GoldenVectors(unittest.TestCase):
    def setUp(self) -> None:
        with open(VECTORS) as f:
            self.vectors = json.load(f)

    def test_limits_match(self) -> None:
        self.assertEqual(self.vectors["maxMessageBytes"], framing.MAX_MESSAGE_BYTES)
        self.assertEqual(self.vectors["headerBytes"], framing.HEADER_BYTES)

    def test_every_case_decodes_whole_at_every_split_and_in_one_byte_chunks(self) -> None:
        for case in self.vectors["cases"]:
            stream = _hex(case["stream"])
            expected = [_hex(m) for m in case["messages"]]
            with self.subTest(case["name"]):
                decoder = framing.FrameDecoder()
                self.assertEqual(decoder.feed(stream), expected)
                self.assertEqual(decoder.pending_bytes, case["pendingBytes"])
                if len(stream) <= 300:
                    for split in range(len(stream) + 1):
                        decoder = framing.FrameDecoder(buffer_bytes=64)
                        self.assertEqual(decoder.feed(stream[:split]) + decoder.feed(stream[split:]), expected)
                    decoder = framing.FrameDecoder(buffer_bytes=64)
                    items = [i for b in stream for i in decoder.feed(bytes([b]))]
                    self.assertEqual(items, expected)
                    self.assertEqual(decoder.pending_bytes, case["pendingBytes"])

    def test_encoding_each_message_gives_the_stream(self) -> None:
        for case in self.vectors["cases"]:
            if case["pendingBytes"]:
                continue
            messages = [_hex(m) for m in case["messages"]]
            with self.subTest(case["name"]):
                encoded = b"".join(framing.encode_header(len(m)) + m for m in messages)
                self.assertEqual(encoded, _hex(case["stream"]))

    def test_error_cases_raise_frame_too_large_with_size_and_limit(self) -> None:
        for case in self.vectors["errorCases"]:
            with self.subTest(case["name"]):
                stream = _hex(case["stream"])
                header = int.from_bytes(stream[:4], "big")
                decoder = framing.FrameDecoder()
                if header & framing.CONTROL_BIT:
                    # Top bit set: handed over raw; the connection decides (seed: too large).
                    self.assertEqual(decoder.feed(stream[:4]), [header])
                    continue
                with self.assertRaises(ipcez.FrameTooLargeError) as caught:
                    decoder.feed(stream)
                self.assertEqual(caught.exception.code, case["error"]["code"])
                self.assertEqual(caught.exception.size, case["error"]["size"])
                self.assertEqual(caught.exception.limit, case["error"]["limit"])

    def test_oversized_sends_are_refused_before_anything_is_written(self) -> None:
        for case in self.vectors["oversizedSends"]:
            with self.assertRaises(ipcez.FrameTooLargeError) as caught:
                framing.encode_header(case["message"]["length"])
            self.assertEqual(caught.exception.size, case["error"]["size"])


class ControlHeaders(unittest.TestCase):
    def test_layout(self) -> None:
        self.assertEqual(framing.encode_control(framing.HELLO, 2), bytes.fromhex("81000002"))
        self.assertEqual(framing.encode_control(framing.HELLO_REPLY, 0), bytes.fromhex("82000000"))
        self.assertEqual(framing.encode_control(framing.ACK, 0xFFFFFF), bytes.fromhex("83ffffff"))
        header = int.from_bytes(bytes.fromhex("83000005"), "big")
        self.assertEqual((framing.control_type(header), framing.control_value(header)), (framing.ACK, 5))

    def test_out_of_range_is_an_invalid_argument(self) -> None:
        with self.assertRaises(ValueError) as caught:
            framing.encode_control(framing.ACK, 1 << 24)
        self.assertEqual(caught.exception.code, "IPCEZ_ERR_INVALID_ARG")  # type: ignore[attr-defined]

    def test_control_headers_between_frames_are_items_of_their_own(self) -> None:
        stream = bytes.fromhex("81000002" "0000000161" "83000001")
        self.assertEqual(framing.FrameDecoder().feed(stream), [0x81000002, b"a", 0x83000001])


class Names(unittest.TestCase):
    def test_the_documented_examples(self) -> None:
        self.assertEqual(_names.signal_names("/tmp/ipcez.sock").ready, "/ipcez_tmp_ipcez.sock.data_ready")
        self.assertEqual(_names.signal_names("/x/a_b.sock").ready, "/ipcez_x_a%5Fb.sock.data_ready")
        names = _names.signal_names("/tmp/ipcez.sock")
        self.assertEqual(names.acked, "/ipcez_tmp_ipcez.sock.data_acked")
        self.assertEqual(names.marker, "/ipcez_tmp_ipcez.sock.v2")
        self.assertEqual(_names.signal_names("@app/x").ready, "/ipcez@app_x.data_ready")
        self.assertEqual(_names.signal_names("/a%b").ready, "/ipcez_a%25b.data_ready")

    def test_the_encoding_is_injective_where_naive_replacement_is_not(self) -> None:
        self.assertNotEqual(_names.signal_names("/x/a_b").ready, _names.signal_names("/x/a/b").ready)

    def test_a_name_over_the_limit_is_ack_unavailable(self) -> None:
        with self.assertRaises(ipcez.AckUnavailableError):
            _names.signal_names("/" + "d" * 250)

    def test_canonical_path_resolves_the_directory_not_the_file(self) -> None:
        import tempfile

        with tempfile.TemporaryDirectory(dir="/tmp") as d:
            os.mkdir(os.path.join(d, "real"))
            os.symlink(os.path.join(d, "real"), os.path.join(d, "link"))
            real = os.path.realpath(os.path.join(d, "real"))
            self.assertEqual(_names.canonical_socket_path(os.path.join(d, "link", "s.sock")), real + "/s.sock")
            self.assertEqual(_names.canonical_socket_path(os.path.join(d, "real", "..", "real", "s.sock")), real + "/s.sock")

    def test_endpoint_resolution(self) -> None:
        self.assertEqual(_names.resolve_unix_endpoint("run/a.sock", cwd="/srv").endpoint, "/srv/run/a.sock")
        self.assertEqual(_names.resolve_unix_endpoint("@app", platform="linux").address, "\0app")
        with self.assertRaises(ipcez.InvalidEndpointError) as caught:
            _names.resolve_unix_endpoint("/" + "p" * 107, platform="linux")
        self.assertIn("108 bytes long", str(caught.exception))
        self.assertEqual(_names.resolve_unix_endpoint("/" + "p" * 106, platform="linux").endpoint, "/" + "p" * 106)
        with self.assertRaises(ipcez.InvalidEndpointError):
            _names.resolve_unix_endpoint("/" + "p" * 103, platform="darwin")
        with self.assertRaises(ipcez.UnsupportedPlatformError):
            _names.resolve_unix_endpoint("@app", platform="darwin")
        with self.assertRaises(ipcez.InvalidEndpointError):
            _names.resolve_unix_endpoint("")


class Detection(unittest.TestCase):
    def detect(self, endpoint: str = "/tmp/a.sock", platform: str = "linux", **env: str) -> ipcez.Detection:
        return ipcez.detect_transport(endpoint, env=env, platform=platform)

    def test_the_table(self) -> None:
        self.assertEqual(self.detect(target="local", os="linux").transport, "unix")
        self.assertEqual(self.detect(target="LOCAL", os="Linux").transport, "unix")
        self.assertEqual(self.detect("ws://h:1/x").transport, "ws")
        self.assertEqual(self.detect("WSS://h:1/x", target="bogus").transport, "ws")
        self.assertEqual(self.detect(platform="win32", target="local", OS="Windows_NT").transport, "pipe")
        self.assertEqual(ipcez.detect_transport("/a", target="local", os="linux", env={"target": "x"}).os, "linux")

    def test_missing_and_invalid_values_name_the_variable_the_value_and_what_is_allowed(self) -> None:
        with self.assertRaises(ipcez.DetectionError) as caught:
            self.detect(os="linux")
        self.assertEqual((caught.exception.variable, caught.exception.value), ("target", None))
        self.assertEqual(caught.exception.allowed, ("local", "remote"))
        with self.assertRaises(ipcez.DetectionError) as caught:
            self.detect(target="local", os="solaris")
        self.assertEqual((caught.exception.variable, caught.exception.value), ("os", "solaris"))
        self.assertIn("linux, windows", str(caught.exception))
        self.assertEqual(caught.exception.code, "IPCEZ_ERR_DETECTION")

    def test_unsupported_combinations(self) -> None:
        for env, platform in (({"target": "remote", "os": "linux"}, "linux"), ({"target": "local", "os": "windows"}, "linux"), ({"target": "local", "os": "linux"}, "win32")):
            with self.subTest(env=env, platform=platform), self.assertRaises(ipcez.UnsupportedCombinationError) as caught:
                self.detect(platform=platform, **env)
            self.assertEqual(caught.exception.target, env["target"])

    def test_windows_pipes_are_refused_by_the_binding_with_a_message_saying_so(self) -> None:
        from ipcez._api import prepare
        from unittest import mock

        with mock.patch.object(sys, "platform", "win32"), mock.patch.dict(os.environ, {"target": "local", "OS": "Windows_NT"}, clear=True):
            with self.assertRaises(ipcez.UnsupportedCombinationError) as caught:
                prepare("app", None, None, None, 5.0)
        self.assertIn("does not implement Windows named pipes", str(caught.exception))
        with self.assertRaises(ipcez.UnsupportedCombinationError):
            ipcez.connect("app", target="local", os="windows")

    def test_http_urls_and_empty_endpoints(self) -> None:
        with self.assertRaises(ipcez.InvalidEndpointError) as caught:
            self.detect("http://h/x")
        self.assertIn("ws://h/x", str(caught.exception))
        with self.assertRaises(ipcez.InvalidEndpointError):
            self.detect("")
        with self.assertRaises(TypeError):
            ipcez.detect_transport(5)  # type: ignore[arg-type]

    def test_the_guidance_is_printed_once_per_process_on_stderr(self) -> None:
        code = (
            "import ipcez\n"
            "for _ in range(3):\n"
            "    try: ipcez.connect('/tmp/nothing.sock')\n"
            "    except ipcez.DetectionError as e: print(e.variable)\n"
        )
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("target", "os")}
        env["PYTHONPATH"] = os.path.join(PACKAGE_ROOT, "src")
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.stdout.split(), ["target"] * 3)
        self.assertEqual(result.stderr.count("export target=local os=linux"), 1, result.stderr)
        self.assertIn("target is not set", result.stderr)


class Errors(unittest.TestCase):
    CLASSES = {
        "IoError": "IPCEZ_ERR_IO",
        "ConnectionLostError": "IPCEZ_ERR_CONNECTION_LOST",
        "WsError": "IPCEZ_ERR_WS",
        "FrameTooLargeError": "IPCEZ_ERR_FRAME_TOO_LARGE",
        "DetectionError": "IPCEZ_ERR_DETECTION",
        "UnsupportedCombinationError": "IPCEZ_ERR_UNSUPPORTED_COMBINATION",
        "RecipientAckTimeoutError": "IPCEZ_ERR_ACK_TIMEOUT",
        "EndpointInUseError": "IPCEZ_ERR_ENDPOINT_IN_USE",
        "UnsupportedPlatformError": "IPCEZ_ERR_UNSUPPORTED_PLATFORM",
        "InvalidEndpointError": "IPCEZ_ERR_INVALID_ENDPOINT",
        "AckUnavailableError": "IPCEZ_ERR_ACK_UNAVAILABLE",
        "ProtocolError": "IPCEZ_ERR_PROTOCOL",
    }

    def test_classes_codes_and_bases(self) -> None:
        for name, code in self.CLASSES.items():
            cls = getattr(ipcez, name)
            self.assertEqual(cls.code, code)
            self.assertTrue(issubclass(cls, ipcez.IpcezError))
        self.assertTrue(issubclass(ipcez.ConnectionLostError, ipcez.IoError))
        self.assertEqual(sorted(self.CLASSES.values()), sorted(ipcez.IPCEZ_ERROR_CODES))

    def test_the_codes_are_the_typescript_ones(self) -> None:
        with open(os.path.join(REPO_ROOT, "packages", "core", "src", "errors.ts")) as f:
            ts_codes = set(re.findall(r"'(IPCEZ_ERR_[A-Z_]+)',\n", f.read()))
        # The TypeScript list also has SEND_BUFFER_FULL (no Python equivalent: sends block), the
        # codes of its reconnecting client (RECONNECT_FAILED, SEND_TIMEOUT), and those of the
        # Node listener's per-listener limits (CONNECTION_LIMIT, PARTIAL_FRAME_LIMIT,
        # FRAME_TIMEOUT, IDLE_TIMEOUT), which this binding does not have.
        self.assertEqual(
            ts_codes - set(ipcez.IPCEZ_ERROR_CODES),
            {
                "IPCEZ_ERR_SEND_BUFFER_FULL",
                "IPCEZ_ERR_RECONNECT_FAILED",
                "IPCEZ_ERR_SEND_TIMEOUT",
                "IPCEZ_ERR_CONNECTION_LIMIT",
                "IPCEZ_ERR_PARTIAL_FRAME_LIMIT",
                "IPCEZ_ERR_FRAME_TIMEOUT",
                "IPCEZ_ERR_IDLE_TIMEOUT",
            },
        )
        self.assertLessEqual(set(ipcez.IPCEZ_ERROR_CODES) - ts_codes, {"IPCEZ_ERR_PROTOCOL"})

    def test_is_ipcez_error_matches_on_code_and_invalid_args_carry_theirs(self) -> None:
        self.assertTrue(ipcez.is_ipcez_error(ipcez.RecipientAckTimeoutError(1.0), "IPCEZ_ERR_ACK_TIMEOUT"))
        self.assertFalse(ipcez.is_ipcez_error(ValueError("x")))
        self.assertEqual(invalid_arg("x").code, "IPCEZ_ERR_INVALID_ARG")  # type: ignore[attr-defined]
        with self.assertRaises(TypeError) as caught:
            ipcez.connect("/tmp/x.sock", target="local", os="linux", ack_timeout="5")  # type: ignore[arg-type]
        self.assertEqual(caught.exception.code, "IPCEZ_ERR_INVALID_ARG")  # type: ignore[attr-defined]
        with self.assertRaises(ValueError):
            ipcez.connect("/tmp/x.sock", target="local", os="linux", ack_timeout=0)

    def test_the_readme_documents_every_export_and_every_code(self) -> None:
        with open(os.path.join(PACKAGE_ROOT, "README.md")) as f:
            readme = f.read()
        for name in ipcez.__all__:
            self.assertIn("`%s" % name, readme, name)
        errors = readme[readme.index("## Errors") :]
        for code in ipcez.IPCEZ_ERROR_CODES + ("IPCEZ_ERR_INVALID_ARG",):
            self.assertIn("`%s`" % code, errors, code)

    def test_io_error_lifts_the_os_error(self) -> None:
        error = ipcez.IoError("x", cause=FileNotFoundError(2, "No such file", "/p"))
        self.assertEqual((error.errno, error.os_code, error.path), (2, "ENOENT", "/p"))


if __name__ == "__main__":
    unittest.main()
