"""Daphne for the benchmark: ``python bench/gw/serve.py [daphne options] core.asgi:application``.

Sets Django up, registers the bench-only ``benchroom`` topic (``bench/gw/topic.py``), then runs
``realtime.daphne.main`` (the same entry point and protocol options as production).
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

    sys.argv[0] = "daphne"
    daphne.main()


if __name__ == "__main__":
    main()
