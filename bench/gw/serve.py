"""The benchmark's server: ``python bench/gw/serve.py [server options] core.asgi:application``.

Sets Django up, registers the bench-only ``benchroom`` topic (``bench/gw/topic.py``), then runs
``realtime.daphne.main`` (the same entry point and protocol options as production), or, with
``BENCH_SERVER=uvicorn``, uvicorn's command line (options given by ``bench/gateway.py --server``).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)


def main() -> None:
    import django

    django.setup()
    import bench.gw.topic  # noqa: F401  (registers benchroom)
    from realtime import daphne

    if os.environ.get("BENCH_SERVER", "daphne") == "uvicorn":
        import uvicorn

        sys.argv[0] = "uvicorn"
        uvicorn.main()
        return
    sys.argv[0] = "daphne"
    daphne.main()


if __name__ == "__main__":
    main()
