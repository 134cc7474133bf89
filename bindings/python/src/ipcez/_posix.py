"""POSIX named semaphores through ctypes (Linux), for the seed ack protocol and the v2 marker.

Waiting never moves with the wall clock (``sem_clockwait`` on ``CLOCK_MONOTONIC``), and however
many sends wait on one semaphore, one thread per open semaphore does the native waiting (in
slices of at most 100 ms) and hands each token it takes to the oldest waiter.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, Optional

from ._sync import OK, Waiter
from .errors import AckUnavailableError, IoError

_SLICE_S = 0.1
_CLOCK_MONOTONIC = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc: Any = None
_load_error: Optional[str] = None


def _load() -> Any:
    global _libc, _load_error
    if _libc is not None:
        return _libc
    if _load_error is not None:
        raise AckUnavailableError(_load_error)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.sem_open.restype = ctypes.c_void_p
        libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
        for name in ("sem_post", "sem_trywait", "sem_close"):
            getattr(libc, name).argtypes = [ctypes.c_void_p]
        libc.sem_unlink.argtypes = [ctypes.c_char_p]
        clockwait = libc.sem_clockwait
        clockwait.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec)]
    except (OSError, AttributeError) as error:
        # No POSIX named semaphores with a monotonic timed wait here (sem_clockwait is glibc >= 2.30).
        _load_error = "POSIX named semaphores with sem_clockwait are not available (%s)" % error
        raise AckUnavailableError(_load_error, cause=error) from error
    _libc = libc
    return libc


def _os_error(call: str, name: str) -> IoError:
    number = ctypes.get_errno()
    cause = OSError(number, os.strerror(number), name)
    return IoError("%s %s: %s" % (call, name, os.strerror(number)), cause=cause, syscall=call)


def unlink(name: str) -> None:
    """``sem_unlink``; a missing name is not an error."""
    if _load().sem_unlink(name.encode()) != 0 and ctypes.get_errno() != errno.ENOENT:
        raise _os_error("sem_unlink", name)


def exists(name: str) -> bool:
    """Whether a semaphore of that name exists (opened without creating it, then closed)."""
    libc = _load()
    handle = libc.sem_open(name.encode(), 0, 0, 0)
    if not handle:
        if ctypes.get_errno() == errno.ENOENT:
            return False
        raise _os_error("sem_open", name)
    libc.sem_close(handle)
    return True


class Semaphore:
    """One open handle of a named semaphore (mode 0600, initial value 0). Reference-counted:
    :meth:`release` closes the handle once every holder released it and no wait is running."""

    def __init__(self, name: str, fresh: bool) -> None:
        libc = _load()
        if fresh:
            unlink(name)
        handle = libc.sem_open(name.encode(), os.O_CREAT, 0o600, 0)
        if not handle:  # SEM_FAILED is (sem_t *) 0 on glibc
            raise _os_error("sem_open", name)
        self.name = name
        self._handle: Optional[int] = handle
        self._lock = threading.Lock()
        self._refs = 1
        self._waiters: Deque[Waiter] = deque()
        self._thread: Optional[threading.Thread] = None

    def post(self) -> None:
        if _load().sem_post(self._handle) != 0:
            raise _os_error("sem_post", self.name)

    def try_take(self) -> bool:
        """Takes one token if there is one, never blocking."""
        if _load().sem_trywait(self._handle) == 0:
            return True
        if ctypes.get_errno() == errno.EAGAIN:
            return False
        raise _os_error("sem_trywait", self.name)

    def waiter(self) -> Waiter:
        """A :class:`Waiter` settled when a token was taken for it. Settle it yourself (timeout,
        connection end) to withdraw: a token taken after that goes to the next waiter, or back."""
        waiter = Waiter()
        with self._lock:
            self._waiters.append(waiter)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ipcez-sem-wait", daemon=True)
                self._thread.start()
        return waiter

    def _run(self) -> None:
        libc = _libc
        while True:
            with self._lock:
                while self._waiters and self._waiters[0].result is not None:
                    self._waiters.popleft()
                if not self._waiters:
                    self._thread = None
                    if self._refs == 0:
                        self._close_handle()
                    return
            deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE_S
            spec = _Timespec(int(deadline), int((deadline % 1) * 1e9))
            if libc.sem_clockwait(self._handle, _CLOCK_MONOTONIC, ctypes.byref(spec)) != 0:
                number = ctypes.get_errno()
                if number in (errno.ETIMEDOUT, errno.EINTR):
                    continue
                error = _os_error("sem_clockwait", self.name)
                with self._lock:
                    waiters, self._waiters = list(self._waiters), deque()
                for waiter in waiters:
                    waiter.settle(error)
                continue
            given = False
            with self._lock:
                while self._waiters:
                    if self._waiters.popleft().settle(OK):
                        given = True
                        break
            if not given:
                self.post()  # everyone withdrew meanwhile: give the token back

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            if self._refs > 0 or self._thread is not None:
                return  # the wait thread closes the handle when it ends
            self._close_handle()

    def _close_handle(self) -> None:
        if self._handle is not None:
            _libc.sem_close(self._handle)
            self._handle = None


_registry_lock = threading.Lock()
_registry: Dict[str, Semaphore] = {}


def open_semaphore(name: str, fresh: bool = False) -> Semaphore:
    """Opens (creating if missing) a named semaphore; handles of one name are shared in this
    process. ``fresh`` unlinks the name first and creates a new semaphore (a listener's start)."""
    with _registry_lock:
        current = _registry.get(name)
        if current is not None and not fresh:
            with current._lock:
                if current._refs > 0:
                    current._refs += 1
                    return current
        semaphore = Semaphore(name, fresh)
        _registry[name] = semaphore
        return semaphore


def close_semaphore(semaphore: Semaphore) -> None:
    with _registry_lock:
        semaphore.release()
        with semaphore._lock:
            gone = semaphore._refs == 0
        if gone and _registry.get(semaphore.name) is semaphore:
            del _registry[semaphore.name]
