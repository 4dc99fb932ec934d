"""Django admin of commerce (Django imports ``<app>.admin``): each room's admin module. The
payments room comes after orders: it registers the order page again with its payments."""

from commerce.cart import admin as cart  # noqa: F401
from commerce.catalog import admin as catalog  # noqa: F401
from commerce.disputes import admin as disputes  # noqa: F401
from commerce.invoices import admin as invoices  # noqa: F401
from commerce.orders import admin as orders  # noqa: F401
from commerce.payments import admin as payments  # noqa: F401
from commerce.payouts import admin as payouts  # noqa: F401
from commerce.returns import admin as returns  # noqa: F401
from commerce.reviews import admin as reviews  # noqa: F401
from commerce.shipping import admin as shipping  # noqa: F401
from commerce.stores import admin as stores  # noqa: F401
from commerce.tax import admin as tax  # noqa: F401
from commerce.wallet import admin as wallet  # noqa: F401
