"""Endpoint resolution and the names of an endpoint's named semaphores (a versioned contract)."""

from __future__ import annotations

import os
import sys
from typing import NamedTuple, Optional

from .errors import AckUnavailableError, InvalidEndpointError, UnsupportedPlatformError

#: sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs, the terminating NUL included.
LINUX_SUN_PATH_BYTES = 108
BSD_SUN_PATH_BYTES = 104
#: A semaphore lives in /dev/shm as "sem." + its name without the leading "/", and a file name
#: is at most 255 bytes: the name after "/" may hold 251 bytes.
LINUX_MAX_SEM_NAME_BYTES = 251

READY_SUFFIX = ".data_ready"
ACKED_SUFFIX = ".data_acked"
MARKER_SUFFIX = ".v2"


class UnixEndpoint(NamedTuple):
    """``endpoint`` as reported (absolute path or ``@name``); ``address`` for ``socket.connect``."""

    endpoint: str
    address: str
    is_abstract: bool


def sun_path_bytes(platform: str) -> int:
    return LINUX_SUN_PATH_BYTES if platform.startswith("linux") else BSD_SUN_PATH_BYTES


def resolve_unix_endpoint(endpoint: str, cwd: Optional[str] = None, platform: Optional[str] = None) -> UnixEndpoint:
    """Maps an endpoint to a socket address without touching the file system.

    ``@name`` is the Linux abstract namespace; anything else is a path, resolved against ``cwd``
    (default: the working directory). A path longer than ``sun_path`` allows is refused with
    :class:`InvalidEndpointError` rather than truncated by the OS.
    """
    plat = sys.platform if platform is None else platform
    limit = sun_path_bytes(plat) - 1
    if endpoint == "":
        raise InvalidEndpointError(endpoint, "the socket path is empty")
    if "\0" in endpoint:
        raise InvalidEndpointError(endpoint, "a socket path cannot contain a NUL byte")
    if endpoint.startswith("@"):
        if not plat.startswith("linux"):
            raise UnsupportedPlatformError("Linux abstract socket names (@name)", plat)
        name = endpoint[1:]
        if name == "":
            raise InvalidEndpointError(endpoint, 'the abstract socket name after "@" is empty')
        size = len(name.encode())
        if size > limit:
            raise InvalidEndpointError(
                endpoint, "the abstract socket name is %d bytes long; the limit on %s is %d bytes" % (size, plat, limit)
            )
        return UnixEndpoint(endpoint, "\0" + name, True)
    resolved = os.path.normpath(os.path.join(cwd if cwd is not None else os.getcwd(), endpoint))
    if resolved.startswith("//"):
        resolved = resolved[1:]
    size = len(resolved.encode())
    if size > limit:
        raise InvalidEndpointError(
            resolved,
            "the socket path is %d bytes long; the limit on %s is %d bytes "
            "(sun_path holds %d bytes including the terminating NUL); use a shorter path" % (size, plat, limit, limit + 1),
        )
    return UnixEndpoint(resolved, resolved, False)


def canonical_socket_path(endpoint: str) -> str:
    """The realpath of the socket's directory, then ``/``, then its file name; ``@name`` as is.
    Two spellings of one socket (a symlinked directory, ``..``) give the same result."""
    if endpoint.startswith("@"):
        return endpoint
    directory, name = os.path.split(os.path.abspath(endpoint))
    return os.path.join(os.path.realpath(directory), name)


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("_", "%5F").replace("/", "_")


class SignalNames(NamedTuple):
    ready: str
    acked: str
    marker: str


def signal_names(canonical: str) -> SignalNames:
    """The POSIX semaphore names of an endpoint, from its canonical path (or ``@name``):
    escape ``%`` as ``%25`` and ``_`` as ``%5F``, replace every ``/`` by ``_``, prefix ``/ipcez``
    (``/ipcez@`` + the escaped name for an abstract socket), append ``.data_ready``,
    ``.data_acked``, and ``.v2`` for the protocol v2 marker.

    ``/tmp/ipcez.sock`` -> ``/ipcez_tmp_ipcez.sock.data_ready``; ``/x/a_b.sock`` ->
    ``/ipcez_x_a%5Fb.sock.data_ready``. Raises :class:`AckUnavailableError` when a name would
    exceed Linux's 251-byte limit.
    """
    if canonical.startswith("@"):
        base = "/ipcez@" + _escape(canonical[1:])
    elif canonical.startswith("/"):
        base = "/ipcez" + _escape(canonical)
    else:
        raise ValueError("not a canonical socket path: %r" % canonical)
    longest = len((base + READY_SUFFIX).encode()) - 1
    if longest > LINUX_MAX_SEM_NAME_BYTES:
        raise AckUnavailableError(
            "the semaphore name for %s would be %d bytes, over Linux's %d-byte limit; use a shorter socket path"
            % (canonical, longest, LINUX_MAX_SEM_NAME_BYTES)
        )
    return SignalNames(base + READY_SUFFIX, base + ACKED_SUFFIX, base + MARKER_SUFFIX)
