"""A settle-once completion shared by threads and asyncio: sends waiting for an ack wait on it."""

from __future__ import annotations

import threading
from typing import Callable, List, Optional

from .errors import RecipientAckTimeoutError

OK: BaseException = BaseException("ok")  # sentinel result: settled successfully


class Waiter:
    """Settled once, with :data:`OK` or an exception. Blocking code calls :meth:`wait`; asyncio
    code registers a callback (run in the settling thread) with :meth:`on_settled`."""

    __slots__ = ("_event", "_lock", "_result", "_callbacks")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._result: Optional[BaseException] = None
        self._callbacks: List[Callable[[BaseException], None]] = []

    @property
    def result(self) -> Optional[BaseException]:
        return self._result

    def settle(self, result: BaseException = OK) -> bool:
        """Settles it; ``False`` when it was already settled (the first result stays)."""
        with self._lock:
            if self._result is not None:
                return False
            self._result = result
            callbacks, self._callbacks = self._callbacks, []
        self._event.set()
        for callback in callbacks:
            callback(result)
        return True

    def wait(self, timeout: Optional[float]) -> Optional[BaseException]:
        """Blocks until settled or ``timeout`` seconds passed; the result, or ``None`` on timeout."""
        self._event.wait(timeout)
        return self._result

    def on_settled(self, callback: Callable[[BaseException], None]) -> None:
        with self._lock:
            if self._result is None:
                self._callbacks.append(callback)
                return
            result = self._result
        callback(result)


def wait_ack(waiter: Waiter, timeout: float) -> None:
    """Blocks until ``waiter`` is settled: returns on an ack, raises the error it was settled
    with, or :class:`RecipientAckTimeoutError` after ``timeout`` seconds (withdrawing it)."""
    result = waiter.wait(timeout)
    if result is None and waiter.settle(RecipientAckTimeoutError(timeout)):
        raise RecipientAckTimeoutError(timeout)
    result = waiter.result
    if result is not OK:
        raise result  # type: ignore[misc]
