"""Composition module: every room's event types (``<room>/events.py``), so that Django's
``autodiscover_modules("events")`` (``realtime.apps``) declares them all in every process.
Imported by nobody else (``.importlinter``)."""

from commerce.cart import events as cart_events  # noqa: F401
from commerce.catalog import events as catalog_events  # noqa: F401
from commerce.disputes import events as dispute_events  # noqa: F401
from commerce.invoices import events as invoice_events  # noqa: F401
from commerce.orders import events as order_events  # noqa: F401
from commerce.payments import events as payment_events  # noqa: F401
from commerce.payouts import events as payout_events  # noqa: F401
from commerce.stores import events as store_events  # noqa: F401
from commerce.returns import events as return_events  # noqa: F401
from commerce.reviews import events as review_events  # noqa: F401
from commerce.wallet import events as wallet_events  # noqa: F401
