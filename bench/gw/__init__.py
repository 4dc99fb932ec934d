"""Helpers of ``bench/gateway.py``: the bench-only topic, the Daphne launcher, the load worker."""
