"""Running callables at the same moment, for the race tests (PostgreSQL only: SQLite has no row
locks). Each thread closes its own database connections; a thread that does not finish within
``TIMEOUT`` fails the test instead of hanging the suite."""

import threading
import time
from collections.abc import Callable

from django.db import connection, connections, transaction

TIMEOUT = 30  # seconds; only so a broken lock cannot hang the suite


class Outcome:
    """What one callable gave: its result or the exception it raised. Unpacks as
    ``result, error``."""

    def __init__(self):
        self.result = None
        self.error: BaseException | None = None

    def __iter__(self):
        return iter((self.result, self.error))

    def __repr__(self) -> str:
        return f"Outcome(result={self.result!r}, error={self.error!r})"


def start(func: Callable, outcome: Outcome) -> threading.Thread:
    """Run ``func`` in a thread of its own, recording its outcome."""

    def run():
        try:
            outcome.result = func()
        except BaseException as e:  # the test inspects it
            outcome.error = e
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread did not finish"


def run_together(*funcs: Callable) -> list[Outcome]:
    """Run the callables in threads released at the same moment; wait for all of them."""
    barrier = threading.Barrier(len(funcs))
    outcomes = [Outcome() for _ in funcs]

    def gated(func):
        def call():
            barrier.wait(TIMEOUT)
            return func()

        return call

    join(*[start(gated(f), o) for f, o in zip(funcs, outcomes, strict=True)])
    return outcomes


def together(*funcs: Callable) -> list:
    """Like ``run_together``: each callable's result, or the exception it raised."""
    return [o.error if o.error is not None else o.result for o in run_together(*funcs)]


def race(*funcs: Callable) -> tuple[list, list[BaseException]]:
    """Like ``run_together``: (the results of those that returned, the exceptions raised)."""
    outcomes = run_together(*funcs)
    results = [o.result for o in outcomes if o.error is None]
    return results, [o.error for o in outcomes if o.error is not None]


def holding_then(first: Callable, second: Callable, *, hold: float) -> list:
    """``first`` runs inside a transaction that stays open ``hold`` seconds after it returns
    (a slow commit, as a large unit's settlement has); ``second`` starts meanwhile. Each one's
    result or exception."""
    started = threading.Event()
    outcomes = [Outcome(), Outcome()]

    def hold_first():
        try:
            with transaction.atomic():
                result = first()
                started.set()
                time.sleep(hold)
            return result
        finally:
            started.set()

    def after_first():
        assert started.wait(TIMEOUT)
        return second()

    join(start(hold_first, outcomes[0]), start(after_first, outcomes[1]))
    return [o.error if o.error is not None else o.result for o in outcomes]


def wait_for_lock_waiters(n: int = 1) -> None:
    """Until n other sessions of this database wait for a lock (the second caller blocked on
    the first one's row lock)."""
    deadline = time.monotonic() + TIMEOUT
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= n:
                return
            assert time.monotonic() < deadline, "the second caller never waited for the lock"
            time.sleep(0.01)


def pause_first_call(monkeypatch, cls, name: str) -> tuple[threading.Event, threading.Event]:
    """Make the first call of ``cls.name`` stop (inside the caller's transaction) until
    released: returns (inside, release)."""
    inside, release = threading.Event(), threading.Event()
    original = getattr(cls, name)
    calls = []
    guard = threading.Lock()

    def patched(self, *args, **kwargs):
        with guard:
            calls.append(1)
            first = len(calls) == 1
        if first:
            inside.set()
            assert release.wait(TIMEOUT)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, patched)
    return inside, release
