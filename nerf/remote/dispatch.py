"""One training worker, several remote viewers: whose render the worker works on next.

The worker has one newest-wins request slot; each client has two of its own here, "view" (its live
camera: a newer pose replaces an older one, even the one being rendered) and "job" (a frame a video
job on the client waits for). One request is with the worker at a time; when its frame comes back
the next client in turn is served, so a client that moves its camera all the time cannot starve
another. The frame goes to the requester's `deliver` callback, never to the other clients.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nerf.train.worker_messages import RenderRequest, RenderResult

PURPOSES = ("view", "job")


@dataclass(frozen=True)
class Ticket:
    """The tag of a request the dispatcher gave the worker: which client and slot, and the
    client's own request id."""

    client: int
    purpose: str
    id: int


class RenderDispatch:
    """`worker`: what renders (request_render(RenderRequest), frames: a Mailbox of RenderResult).
    Call `add_client` / `remove_client` / `request` from any thread; `start()` runs the thread that
    takes the worker's frames."""

    def __init__(self, worker: Any):
        self._worker = worker
        self._lock = threading.Lock()
        self._deliver: dict[int, Callable[[Ticket, RenderResult], None]] = {}
        self._pending: dict[tuple[int, str], RenderRequest] = {}
        self._order: list[tuple[int, str]] = []  # slots in turn; the one served last goes to the back
        self._in_flight: Ticket | None = None
        self._next_client = 0
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._collect, name="nerf-remote-frames", daemon=True)

    def start(self) -> "RenderDispatch":
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._thread.join(2.0)

    def add_client(self, deliver: Callable[[Ticket, RenderResult], None]) -> int:
        with self._lock:
            self._next_client += 1
            client = self._next_client
            self._deliver[client] = deliver
            self._order += [(client, p) for p in PURPOSES]
            return client

    def remove_client(self, client: int) -> None:
        """Forget a client: its waiting requests go, and a frame of its still being rendered is dropped."""
        with self._lock:
            self._deliver.pop(client, None)
            self._order = [slot for slot in self._order if slot[0] != client]
            for p in PURPOSES:
                self._pending.pop((client, p), None)

    def request(self, client: int, purpose: str, request_id: int, request: RenderRequest) -> None:
        """Queue `request` (its tag is replaced) in the client's slot for `purpose`."""
        ticket = Ticket(client, purpose, request_id)
        with self._lock:
            if client not in self._deliver:
                return
            tagged = RenderRequest(request.cameras, request.index, request.background, request.max_samples,
                                   request.interactive, request.prompt, ticket, request.crop)
            if self._in_flight is not None and (self._in_flight.client, self._in_flight.purpose) == (client, purpose):
                # The same slot's older request is with the worker: this one supersedes it there
                # (the worker abandons the stale render), so a moving camera is never a frame behind.
                self._in_flight = ticket
                self._worker.request_render(tagged)
                return
            self._pending[(client, purpose)] = tagged
            if self._in_flight is None:
                self._submit_next()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._in_flight is not None

    def _submit_next(self) -> None:
        """With the lock held and nothing in flight: give the worker the next waiting request in turn."""
        for i, slot in enumerate(self._order):
            request = self._pending.pop(slot, None)
            if request is not None:
                self._order.append(self._order.pop(i))
                self._in_flight = request.tag
                self._worker.request_render(request)
                return

    def _collect(self) -> None:
        while not self._closing.is_set():
            result = self._worker.frames.wait(0.2)  # the timeout only bounds how late close() is seen
            if result is None or not isinstance(result.request.tag, Ticket):
                continue
            ticket: Ticket = result.request.tag
            with self._lock:
                deliver = self._deliver.get(ticket.client)
                if ticket == self._in_flight:
                    self._in_flight = None
                    self._submit_next()
            if deliver is not None:
                deliver(ticket, result)
