#!/usr/bin/env python
"""Run the test suite against real PostgreSQL and Redis.

Starts the embedded services when ``DATABASE_URL`` / ``REDIS_URL`` are unset (and stops them
afterwards if this run started them), then runs pytest with any extra arguments. pytest's exit
code 5 ("no tests collected") is reported as a failure: a green run must have run tests.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    started = False
    env = dict(os.environ)
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        from core import embedded

        started = not embedded.services_running()
        urls = embedded.ensure_services()
        env.setdefault("DATABASE_URL", urls.database_url)
        env.setdefault("REDIS_URL", urls.redis_url)
    try:
        code = subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=env)
    finally:
        if started and not env.get("KEEP_SERVICES"):
            from core import embedded

            embedded.stop_services()
    if code == 5:
        print("run_tests: pytest collected no tests; failing the run", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
