"""Celery finds an app's tasks in ``<app>.tasks``; commerce's live in its rooms
(``commerce.catalog.tasks``: catalogue imports and their recovery sweep; ``commerce.orders.tasks``: reservation expiry;
``commerce.payments.tasks``: escrow release and payment reconciliation; ``commerce.stores.tasks``:
pickup points from addresses; ``commerce.returns.tasks``: unattached return photos purged;
``commerce.reviews.tasks``: unattached review photos purged). Their names stay
``commerce.tasks.<name>``."""

from commerce.catalog.tasks import recover_catalog_imports, run_catalog_import  # noqa: F401
from commerce.orders.tasks import expire_checkout, expire_reservations_sweep  # noqa: F401
from commerce.payments.tasks import reconcile_payments, release_escrow, release_escrows_sweep  # noqa: F401
from commerce.returns.tasks import purge_return_photos  # noqa: F401
from commerce.reviews.tasks import purge_review_photos  # noqa: F401
from commerce.stores.tasks import geocode_pickup_point  # noqa: F401
