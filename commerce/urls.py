"""Commerce routes, included under ``/api/v1/``: each room's ``urls.py``."""

from commerce.cart.urls import urlpatterns as cart
from commerce.catalog.urls import urlpatterns as catalog
from commerce.disputes.urls import urlpatterns as disputes
from commerce.orders.urls import urlpatterns as orders
from commerce.payments.urls import urlpatterns as payments
from commerce.payouts.urls import urlpatterns as payouts
from commerce.returns.urls import urlpatterns as returns
from commerce.reviews.urls import urlpatterns as reviews
from commerce.stores.urls import urlpatterns as stores
from commerce.wallet.urls import urlpatterns as wallet

urlpatterns = [*stores, *catalog, *cart, *orders, *payments, *payouts, *disputes, *returns, *reviews, *wallet]
