"""Which transport serves an endpoint: the endpoint string, then ``target``/``os``."""

from __future__ import annotations

import os as _os
import re
import sys
import threading
from typing import Mapping, NamedTuple, Optional, Sequence

from .errors import DetectionError, InvalidEndpointError, UnsupportedCombinationError, invalid_arg

TARGETS = ("local", "remote")
OSES = ("linux", "windows")

_WS_URL = re.compile(r"^wss?://", re.IGNORECASE)
_HTTP_URL = re.compile(r"^https?://", re.IGNORECASE)


class Detection(NamedTuple):
    """What :func:`detect_transport` decided: ``transport`` is ``'unix'``, ``'pipe'`` or ``'ws'``;
    ``target``/``os`` are the values in force (``os`` is ``None`` for a WebSocket URL)."""

    transport: str
    target: str
    os: Optional[str]


def is_websocket_url(endpoint: str) -> bool:
    """Whether the endpoint is a ``ws://`` or ``wss://`` URL (any case)."""
    return bool(_WS_URL.match(endpoint))


_guidance_lock = threading.Lock()
_guidance_printed = False


def _print_guidance_once(error: DetectionError, platform: str) -> None:
    global _guidance_printed
    with _guidance_lock:
        if _guidance_printed:
            return
        _guidance_printed = True
    fix = "set target=local (os is read from OS=Windows_NT)" if platform == "win32" else "export target=local os=linux"
    sys.stderr.write(
        "ipcez: cannot choose a local transport: %s.\n"
        "ipcez: a ws:// or wss:// endpoint needs neither; for a local endpoint, fix it with: %s\n"
        "ipcez: (or pass target=..., os=... to connect()/listen())\n" % (error, fix)
    )
    sys.stderr.flush()


def _read_env(env: Mapping[str, str], name: str, platform: str) -> Optional[str]:
    # Windows treats variable names case-insensitively (the system itself sets OS=Windows_NT).
    if name in env or platform != "win32":
        return env.get(name)
    for key, value in env.items():
        if key.lower() == name:
            return value
    return None


def _normalize(variable: str, raw: Optional[str], allowed: Sequence[str]) -> str:
    if raw is None or raw.strip() == "":
        raise DetectionError(variable, "" if raw == "" else None, allowed)
    value = raw.strip().lower()
    if variable == "os" and value == "windows_nt":
        value = "windows"
    if value not in allowed:
        raise DetectionError(variable, raw, allowed)
    return value


def detect_transport(
    endpoint: str,
    *,
    target: Optional[str] = None,
    os: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    platform: Optional[str] = None,
) -> Detection:
    """Decides which transport serves ``endpoint``.

    A ``ws://``/``wss://`` URL is WebSocket whatever the environment. Anything else is local:
    ``target`` must be ``local`` and ``os`` ``linux`` (Unix domain socket) or ``windows`` (named
    pipe; ``windows_nt`` counts). Values are case-insensitive; the ``target``/``os`` arguments win
    over the environment (``env``, default ``os.environ``). ``platform`` defaults to
    ``sys.platform``.

    Raises :class:`DetectionError` (missing/invalid value; the fix is also printed once per
    process to stderr), :class:`UnsupportedCombinationError` (``target=remote`` with a non-URL
    endpoint, ``os=windows`` outside Windows, ``os=linux`` on Windows),
    :class:`InvalidEndpointError` (empty endpoint, ``http(s)://`` URL), ``TypeError`` for a
    non-string endpoint.
    """
    if not isinstance(endpoint, str):
        raise invalid_arg("endpoint must be a string, got %s" % type(endpoint).__name__)
    if endpoint == "":
        raise InvalidEndpointError(endpoint, "the endpoint is empty")
    if _WS_URL.match(endpoint):
        return Detection("ws", "remote", None)
    if _HTTP_URL.match(endpoint):
        raise InvalidEndpointError(
            endpoint,
            "an http(s) URL is not a WebSocket endpoint; use %s" % re.sub(r"(?i)^http", "ws", endpoint),
        )
    environ: Mapping[str, str] = _os.environ if env is None else env
    plat = sys.platform if platform is None else platform
    try:
        chosen_target = _normalize("target", target if target is not None else _read_env(environ, "target", plat), TARGETS)
        if chosen_target == "remote":
            raise UnsupportedCombinationError(
                "remote",
                (os if os is not None else _read_env(environ, "os", plat)) or "(unset)",
                "a remote target needs a ws:// or wss:// endpoint, got %r" % endpoint,
            )
        chosen_os = _normalize("os", os if os is not None else _read_env(environ, "os", plat), OSES)
    except DetectionError as error:
        _print_guidance_once(error, plat)
        raise
    if chosen_os == "windows" and plat != "win32":
        raise UnsupportedCombinationError(
            chosen_target, chosen_os, "Windows named pipes need a Windows process (this is %s)" % plat
        )
    if chosen_os == "linux" and plat == "win32":
        raise UnsupportedCombinationError(chosen_target, chosen_os, "this is a Windows process: use os=windows (named pipes)")
    return Detection("pipe" if chosen_os == "windows" else "unix", "local", chosen_os)
