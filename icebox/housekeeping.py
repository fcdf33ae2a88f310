"""Housekeeping: what dead processes leave behind, cleared by the live ones.

A killed worker cannot fail its own import, and a killed web or import process cannot remove
its temporary files. Every worker (`manage.py icebox_worker`) runs `sweep()` when it starts and
then every ICEBOX_HOUSEKEEPING_INTERVAL seconds in a thread of its own, with its own database
connection, so a dead worker's job is failed while the other workers live, busy or not. Each
step decides from facts (a lock PostgreSQL or the kernel dropped), never from a clock, so any
number of workers may sweep at once.

Each app registers its own steps (`register`, from its AppConfig.ready), so that this module
imports none of them: a step is a function taking nothing and returning how many things it
cleared.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from django.db import connection

log = logging.getLogger(__name__)

# In INSTALLED_APPS order: icebox (temporary files), geo (partitions), engine (dead workers' imports).
STEPS: list[tuple[str, Callable[[], int]]] = []


def register(name: str, step: Callable[[], int]) -> None:
    """Add a step to every sweep (once, whatever how often an app's ready() runs)."""
    if all(existing != name for existing, _ in STEPS):
        STEPS.append((name, step))


def sweep() -> dict[str, int]:
    """Run every step once: {step name: how many things it cleared}. A failing step is logged
    and left out; the others still run."""
    cleared = {}
    for name, step in STEPS:
        try:
            cleared[name] = step()
        except Exception:  # noqa: BLE001 - one broken step must not stop the others, or the next round
            log.exception("housekeeping step %r failed", name)
    return cleared


class Housekeeper:
    """`sweep()` every `interval` seconds in a thread, until `stop()`."""

    def __init__(self, *, interval: float):
        self.interval = interval
        self._stopping = threading.Event()
        # A daemon: a worker told to stop at once (a second signal: SystemExit wherever the main
        # thread is, even inside stop()'s join) must not then wait at exit for a sweep in progress.
        # Every step is one transaction per thing it clears: cut short, it leaves nothing half done.
        self._thread = threading.Thread(target=self._loop, name="icebox-housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                sweep()
            finally:
                # This thread's own connection: not held between rounds, and a broken one
                # (the database restarted) is replaced by a fresh one next round.
                connection.close()
