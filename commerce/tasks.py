"""Celery finds an app's tasks in ``<app>.tasks``; commerce's live in its rooms
(``commerce.catalog.tasks``: catalogue imports; ``commerce.orders.tasks``: reservation expiry;
``commerce.payments.tasks``: escrow release and payment reconciliation; ``commerce.stores.tasks``:
pickup points from addresses). Their names stay ``commerce.tasks.<name>``."""

from commerce.catalog.tasks import run_catalog_import  # noqa: F401
from commerce.orders.tasks import expire_checkout, expire_reservations_sweep  # noqa: F401
from commerce.payments.tasks import reconcile_payments, release_escrow, release_escrows_sweep  # noqa: F401
from commerce.stores.tasks import geocode_pickup_point  # noqa: F401
