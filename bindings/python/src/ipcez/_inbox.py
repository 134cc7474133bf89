"""What a connection (or a server) received and nobody consumed yet, then its one terminal error."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Deque, Generic, List, Optional, TypeVar

from .errors import FrameTooLargeError, IpcezError

T = TypeVar("T")

#: Past this many kept bytes a connection stops reading (later frames stay in the OS buffer).
INBOX_HIGH_WATER_BYTES = 1024 * 1024


def mark_clean(error: IpcezError) -> IpcezError:
    """Marks an end as clean: the peer or this side closed at a frame boundary. Iteration stops
    quietly at a clean end and raises any other terminal error."""
    error._ipcez_clean = True  # type: ignore[attr-defined]
    return error


def is_clean(error: BaseException) -> bool:
    return getattr(error, "_ipcez_clean", False) is True


class Inbox(Generic[T]):
    """Thread-safe FIFO with a terminal error. Consumers block in :meth:`get`, or register a
    wake-up callback (asyncio) with :meth:`add_listener` and poll :meth:`try_get`."""

    def __init__(self, weigh: Optional[Callable[[T], int]] = None) -> None:
        self._items: Deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._weigh = weigh
        self._weight = 0
        self._error: Optional[IpcezError] = None
        self._listeners: List[Callable[[], None]] = []

    @property
    def ended(self) -> Optional[IpcezError]:
        return self._error

    def push(self, item: T) -> None:
        self.push_all([item])

    def push_all(self, items: List[T]) -> None:
        """Pushes several items with one wake-up."""
        with self._cond:
            if self._error is not None:
                return
            self._items.extend(items)
            if self._weigh is not None:
                weigh = self._weigh
                self._weight += sum(weigh(item) for item in items)
            self._cond.notify_all()
            listeners = list(self._listeners) if self._listeners else ()
        for listener in listeners:
            listener()

    def end(self, error: IpcezError) -> None:
        with self._cond:
            if self._error is not None:
                return
            self._error = error
            self._cond.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def is_empty(self) -> bool:
        return not self._items

    def is_full(self) -> bool:
        return self._weight > INBOX_HIGH_WATER_BYTES

    def wait_space(self, timeout: float) -> None:
        """Blocks while the kept bytes are past the high-water mark (at most ``timeout`` s)."""
        with self._cond:
            if self._weight > INBOX_HIGH_WATER_BYTES and self._error is None:
                self._cond.wait(timeout)

    def _take(self, max_bytes: Optional[int]) -> T:
        item = self._items[0]
        if max_bytes is not None and isinstance(item, (bytes, bytearray)) and len(item) > max_bytes:
            raise FrameTooLargeError(len(item), max_bytes, "read")
        self._items.popleft()
        if self._weigh is not None:
            self._weight -= self._weigh(item)
            self._cond.notify_all()
        return item

    def try_get(self, max_bytes: Optional[int] = None) -> "tuple[bool, Optional[T]]":
        """``(True, item)``, or ``(False, None)`` when empty and not ended; raises the terminal
        error once empty and ended."""
        with self._cond:
            if self._items:
                return True, self._take(max_bytes)
            if self._error is not None:
                raise self._error
            return False, None

    def get(self, timeout: Optional[float] = None, max_bytes: Optional[int] = None) -> T:
        """The next item; raises the terminal error once empty and ended, ``TimeoutError`` after
        ``timeout`` seconds (the inbox is unchanged)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self._error is not None:
                    raise self._error
                if deadline is None:
                    self._cond.wait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("nothing arrived within %g s" % timeout)
                    self._cond.wait(remaining)
            return self._take(max_bytes)

