"""Permission predicates of the invoices room (style: ``docs/architecture.md``, "Permission
vocabulary")."""

from __future__ import annotations

from django.db.models import Q

from core.permissions import is_active_user, is_marketplace_admin

from commerce.orders.permissions import can_view_order
from commerce.stores.permissions import store_ids_of


def can_view_tax_document(user, document) -> bool:
    """Who reads and downloads an invoice or a credit note: whoever may see its order (the
    buyer, the store's staff, a marketplace admin: ``can_view_order``). ``document.order`` (an
    invoice) or ``document.invoice.order`` (a credit note) should be loaded."""
    order = document.order if hasattr(document, "order") else document.invoice.order
    return can_view_order(user, order)


def tax_documents_q(user, *, order_field: str = "order") -> Q:
    """Queryset form of :func:`can_view_tax_document` (``order_field`` is the path to the order:
    ``"order"`` for invoices, ``"invoice__order"`` for credit notes); matches nothing for
    anonymous and inactive users."""
    if not is_active_user(user):
        return Q(pk__in=[])
    if is_marketplace_admin(user):
        return Q()
    return Q(**{f"{order_field}__buyer": user}) | Q(vendor_id__in=store_ids_of(user))
