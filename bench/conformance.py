#!/usr/bin/env python
"""WebSocket protocol conformance: the Autobahn TestSuite cases against an echo endpoint.

    .venv/bin/python bench/conformance.py ws://127.0.0.1:8000/ws/echo/ [--json] [--exclude 9.* 12.* 13.*]

Runs the original Autobahn case files through ``kosoku`` (a maintained Rust runner of them, from
PyPI) and prints the pass count and every failed case with its verdicts; ``--json`` prints one
JSON object instead (``{"total", "passed", "failed", "seconds", "excluded"}``). Exit code 0 when
every selected case passed, 1 otherwise.

The echo endpoint is ``/ws/echo/`` (``realtime.echo``), routed only by the test and benchmark
settings. Left out by default: 9.* (messages of 64 KiB to 16 MiB; the gateway closes anything
over 64 KiB with 1009 by design), 12.* and 13.* (permessage-deflate, which the gateway does not
negotiate). Used by ``make bench`` (``bench/gateway.py``, scenario ``conformance``) and by
``tests/realtime/test_conformance_live.py``.

It runs in a process of its own on purpose: ``kosoku`` imports the case files with its own
``autobahn`` shim, which breaks when the real ``autobahn`` (Daphne's) is already imported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

#: Autobahn case groups left out by default (see the module docstring)
EXCLUDED = ["9.*", "12.*", "13.*"]


def run(url: str, exclude: list[str], concurrency: int = 4) -> dict:
    """Run the cases against ``url``; returns ``{"total", "passed", "failed", "seconds", "excluded"}``
    where ``failed`` lists ``"<case id> (<behaviour>/<close behaviour>)"``."""
    import kosoku

    t0 = time.perf_counter()
    try:
        results = asyncio.run(kosoku.run_fuzzingclient(url, exclude_cases=exclude, concurrency=concurrency))
    except kosoku.FailureError as exc:
        results = exc.results
    failed = [f"{r.case_id} ({r.behavior.value}/{r.behavior_close.value})" for r in results if not r.passed]
    return {"total": len(results), "passed": len(results) - len(failed), "failed": failed,
            "seconds": round(time.perf_counter() - t0, 1), "excluded": exclude}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="WebSocket URL of an echo endpoint, e.g. ws://127.0.0.1:8000/ws/echo/")
    parser.add_argument("--exclude", nargs="*", default=EXCLUDED, help="case ids or globs to leave out")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    res = run(args.url, args.exclude, args.concurrency)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['passed']}/{res['total']} Autobahn cases passed in {res['seconds']} s "
              f"(left out: {' '.join(res['excluded']) or 'none'})")
        for case in res["failed"]:
            print(f"  failed: {case}")
    return 0 if res["passed"] == res["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
