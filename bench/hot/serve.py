"""Daphne for the hot-path benchmarks: ``python bench/hot/serve.py [daphne options] core.asgi:application``.

Sets Django up, installs the bench-only query counters and the ``benchstats`` topic
(``bench/hot/querycount.py``), then runs ``realtime.daphne.main``: the production entry point
with the production protocol options the caller passes.
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
    from bench.hot import querycount
    from realtime import daphne

    querycount.install()
    sys.argv[0] = "daphne"
    daphne.main()


if __name__ == "__main__":
    main()
