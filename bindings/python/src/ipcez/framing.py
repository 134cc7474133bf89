"""The local wire format: each message is a 4-byte big-endian unsigned length, then exactly that
many payload bytes (0 to 4 MiB). Protocol v2 adds control headers: a header with the top bit
set carries a type (bits 30-24) and a value (bits 23-0) and no payload.

Pure codec, no I/O: :func:`encode_header` and :class:`FrameDecoder`.
"""

from __future__ import annotations

import struct
from typing import List, Optional, Union

from .errors import FrameTooLargeError, invalid_arg

__all__ = [
    "HEADER_BYTES",
    "MAX_MESSAGE_BYTES",
    "CONTROL_BIT",
    "HELLO",
    "HELLO_REPLY",
    "ACK",
    "MAX_CONTROL_VALUE",
    "encode_header",
    "encode_control",
    "control_type",
    "control_value",
    "FrameDecoder",
]

HEADER_BYTES = 4
#: The payload limit: 4 MiB.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
CONTROL_BIT = 0x80000000
#: Control header types (the byte ``0x80 | type`` leads the header).
HELLO = 0x81
HELLO_REPLY = 0x82
ACK = 0x83
#: The largest value a control header carries (24 bits).
MAX_CONTROL_VALUE = 0xFFFFFF

_HEADER = struct.Struct(">I")


def encode_header(length: int, limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The 4-byte header of a data frame of ``length`` payload bytes.

    Raises :class:`FrameTooLargeError` when ``length`` exceeds ``limit`` (nothing to write).
    """
    if length > limit:
        raise FrameTooLargeError(length, limit, "sent")
    return _HEADER.pack(length)


def encode_control(kind: int, value: int) -> bytes:
    """A control header: ``kind`` is :data:`HELLO`, :data:`HELLO_REPLY` or :data:`ACK`."""
    if kind not in (HELLO, HELLO_REPLY, ACK):
        raise invalid_arg("unknown control type 0x%x" % kind, "value")
    if not 0 <= value <= MAX_CONTROL_VALUE:
        raise invalid_arg("control value %d is out of range 0..%d" % (value, MAX_CONTROL_VALUE), "value")
    return _HEADER.pack((kind << 24) | value)


def control_type(header: int) -> int:
    """The type byte of a control header (``0x81`` HELLO, ``0x82`` HELLO_REPLY, ``0x83`` ACK ...)."""
    return header >> 24


def control_value(header: int) -> int:
    """The 24-bit value of a control header."""
    return header & MAX_CONTROL_VALUE


Item = Union[bytes, int]


class FrameDecoder:
    """Turns a byte stream into items: ``bytes`` for each whole data frame, ``int`` (the raw
    header) for each header with the top bit set. Whether such a header is a protocol v2
    control header or an oversized length is the caller's decision (it depends on the mode).

    A data header announcing more than ``max_message_bytes`` raises
    :class:`FrameTooLargeError` before anything of that size is allocated. Frames are never
    split or merged, whatever the chunking. Returned ``bytes`` are copies (they do not alias
    the decoder's buffer).

    Two ways to feed it: :meth:`feed` with a chunk, or :meth:`recv_buffer` + :meth:`commit`,
    which lets a socket read straight into the decoder (a large payload is received directly
    into its own buffer).
    """

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES, buffer_bytes: int = 256 * 1024) -> None:
        if not 0 <= max_message_bytes <= MAX_MESSAGE_BYTES:
            raise invalid_arg("max_message_bytes must be 0..%d" % MAX_MESSAGE_BYTES, "value")
        self._max = max_message_bytes
        self._buf = bytearray(max(buffer_bytes, 64))
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._body: Optional[bytearray] = None
        self._body_got = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes received that do not yet make a whole frame (0 at a frame boundary)."""
        if self._body is not None:
            return HEADER_BYTES + self._body_got
        return self._end - self._start

    def needed(self) -> int:
        """How many more bytes complete the item in progress (0 at an item boundary)."""
        if self._body is not None:
            return len(self._body) - self._body_got
        available = self._end - self._start
        if available == 0:
            return 0
        if available < HEADER_BYTES:
            return HEADER_BYTES - available
        (header,) = _HEADER.unpack_from(self._buf, self._start)
        return HEADER_BYTES + header - available

    def recv_buffer(self) -> memoryview:
        """Where the next read should land; pass the byte count read to :meth:`commit`."""
        if self._body is not None:
            return memoryview(self._body)[self._body_got :]
        if self._end == len(self._buf):
            self._compact()
        return self._view[self._end :]

    def commit(self, count: int) -> List[Item]:
        """Accounts ``count`` bytes written into :meth:`recv_buffer` and returns the items completed."""
        items: List[Item] = []
        if self._body is not None:
            self._body_got += count
            if self._body_got < len(self._body):
                return items
            items.append(bytes(self._body))
            self._body = None
            self._body_got = 0
            return items
        self._end += count
        self._parse(items)
        return items

    def feed(self, data: bytes) -> List[Item]:
        """Pushes one chunk; returns the items it completed."""
        items: List[Item] = []
        view = memoryview(data)
        while len(view) > 0:
            target = self.recv_buffer()
            n = min(len(target), len(view))
            target[:n] = view[:n]
            view = view[n:]
            items.extend(self.commit(n))
        return items

    def _compact(self) -> None:
        size = self._end - self._start
        if self._start > 0:
            self._buf[:size] = self._buf[self._start : self._end]
        self._start = 0
        self._end = size

    def _parse(self, items: List[Item]) -> None:
        buf = self._buf
        start = self._start
        end = self._end
        unpack = _HEADER.unpack_from
        while end - start >= HEADER_BYTES:
            (header,) = unpack(buf, start)
            if header & CONTROL_BIT:
                items.append(header)
                start += HEADER_BYTES
                continue
            if header > self._max:
                self._start = start
                raise FrameTooLargeError(header, self._max, "announced")
            body_start = start + HEADER_BYTES
            if end - body_start >= header:
                items.append(bytes(self._view[body_start : body_start + header]))
                start = body_start + header
                continue
            if HEADER_BYTES + header > len(buf):
                # Too big for the shared buffer: receive the rest straight into its own.
                body = bytearray(header)
                have = end - body_start
                body[:have] = self._view[body_start:end]
                self._body = body
                self._body_got = have
                start = end = 0
            break
        if start == end:
            start = end = 0
        self._start = start
        self._end = end
        if self._body is None and len(buf) - end < HEADER_BYTES + 4096 and start > 0:
            self._compact()
