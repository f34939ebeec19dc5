"""Newest-wins single-slot mailboxes: how threads hand each other results without queues growing.

A producer `put`s; a consumer `take`s the latest item (older ones are dropped unread) or `wait`s for
one. Used for stats and rendered frames from the training worker, and for render requests to it, so
a slow consumer never makes the producer fall behind. Errors are different: a newer one must not
hide an older one (a render failing right after the training step failed), so they go through a
Backlog, oldest first and bounded.
"""
from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """One slot holding the newest item; thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._item: T | None = None
        self._full = False
        self._puts = 0  # items ever put, so a reader can tell "new since I looked"

    def put(self, item: T) -> None:
        """Store `item`, replacing any unread one, and wake waiters."""
        with self._cond:
            self._item, self._full = item, True
            self._puts += 1
            self._cond.notify_all()

    def take(self) -> T | None:
        """The newest unread item, or None when there is none. Empties the slot."""
        with self._cond:
            item, self._item, self._full = self._item, None, False
            return item

    def peek(self) -> T | None:
        """The newest unread item without taking it, or None."""
        with self._cond:
            return self._item

    def wait(self, timeout: float | None = None) -> T | None:
        """Take the newest item, waiting up to `timeout` seconds for one; None on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._full, timeout):
                return None
            item, self._item, self._full = self._item, None, False
            return item

    @property
    def full(self) -> bool:
        """True while an unread item waits."""
        with self._cond:
            return self._full

    @property
    def puts(self) -> int:
        """How many items were ever put (monotonic)."""
        with self._cond:
            return self._puts


class Backlog(Generic[T]):
    """Items in the order they came, at most `limit` (beyond it the oldest go, counted in
    `dropped`); thread-safe. For messages that must all be read, such as errors."""

    def __init__(self, limit: int = 32) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._items: collections.deque[T] = collections.deque(maxlen=limit)
        self.dropped = 0  # items pushed out unread by newer ones

    def put(self, item: T) -> None:
        with self._cond:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def take(self) -> T | None:
        """The oldest unread item, or None."""
        with self._cond:
            return self._items.popleft() if self._items else None

    def take_all(self) -> list[T]:
        """Every unread item, oldest first."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            return items

    def wait(self, timeout: float | None = None) -> T | None:
        """Take the oldest item, waiting up to `timeout` seconds for one; None on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._items), timeout):
                return None
            return self._items.popleft()

    @property
    def full(self) -> bool:
        """True while an unread item waits (as Mailbox.full)."""
        with self._cond:
            return bool(self._items)
