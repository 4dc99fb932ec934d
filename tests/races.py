"""Races with real threads on real PostgreSQL: run callables at once, each in its own thread and
database connection."""

from __future__ import annotations

import threading

from django.db import connection

from core.exceptions import ApplicationError


def race(*calls):
    """Run the callables at once (a barrier), each in its own thread and connection; returns
    their results (an ApplicationError's code for a refusal)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except ApplicationError as exc:
            results[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
