"""The models of commerce. Django loads ``<app>.models`` at start-up; this module loads each
room's models, which all keep the one app label ``commerce`` (so table names, content types,
permissions and migrations are those of one app). Code imports a room's module
(``commerce.orders.models``), never this one.

* ``commerce.stores.models`` — Vendor, VendorStaff, PickupPoint, StoreInvitation;
* ``commerce.catalog.models`` — Category, Brand, CatalogSettings, Product, ProductImage,
  ProductPriceChange, ProductStockChange, CatalogImport;
* ``commerce.cart.models`` — Cart, CartItem;
* ``commerce.orders.models`` — Checkout, Order, OrderLine, OrderStatusChange, StockReservation;
* ``commerce.payments.models`` — Payment, Refund, PaymentWebhookEvent, WalletDeposit;
* ``commerce.disputes.models`` — Dispute, DisputeStatement;
* ``commerce.payouts.models`` — PayoutAccount, Withdrawal;
* ``commerce.returns.models`` — ReturnPolicy, ReturnRequest, ReturnLine, ReturnPhoto,
  ReturnStatusChange;
* ``commerce.reviews.models`` — Review, ReviewPhoto, ReviewReport, ReviewModeration,
  StoreRating;

* ``commerce.wallet.models`` — Wallet, LedgerEntry, WalletHold, Escrow;
* ``commerce.tax.models`` — TaxRate, StoreTaxSettings;
* ``commerce.shipping.models`` — ShippingZone, ShippingMethod, ShippingWeightBand;
* ``commerce.invoices.models`` — InvoiceCounter, Invoice, CreditNote.
"""

from commerce.cart import models as cart  # noqa: F401
from commerce.catalog import models as catalog  # noqa: F401
from commerce.disputes import models as disputes  # noqa: F401
from commerce.invoices import models as invoices  # noqa: F401
from commerce.orders import models as orders  # noqa: F401
from commerce.payments import models as payments  # noqa: F401
from commerce.payouts import models as payouts  # noqa: F401
from commerce.returns import models as returns  # noqa: F401
from commerce.reviews import models as reviews  # noqa: F401
from commerce.shipping import models as shipping  # noqa: F401
from commerce.stores import models as stores  # noqa: F401
from commerce.tax import models as tax  # noqa: F401
from commerce.wallet import models as wallet  # noqa: F401
