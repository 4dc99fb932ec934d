"""Commerce routes, included under ``/api/v1/``: each room's ``urls.py``."""

from commerce.cart.urls import urlpatterns as cart
from commerce.catalog.urls import urlpatterns as catalog
from commerce.disputes.urls import urlpatterns as disputes
from commerce.invoices.urls import urlpatterns as invoices
from commerce.orders.urls import urlpatterns as orders
from commerce.payments.urls import urlpatterns as payments
from commerce.payouts.urls import urlpatterns as payouts
from commerce.returns.urls import urlpatterns as returns
from commerce.reviews.urls import urlpatterns as reviews
from commerce.shipping.urls import urlpatterns as shipping
from commerce.stores.urls import urlpatterns as stores
from commerce.tax.urls import urlpatterns as tax
from commerce.wallet.urls import urlpatterns as wallet

urlpatterns = [*stores, *tax, *catalog, *shipping, *cart, *orders, *payments, *payouts, *invoices, *disputes, *returns,
               *reviews, *wallet]
