"""The ``vendor:<vendor_id>`` topic kind (``realtime.events``): a store's live desk, for its
staff. Declared here, in the lowest room that knows stores, so every room above can publish on
it (orders: the order desk, ``commerce.orders.events``; catalog: import progress,
``commerce.catalog.events``). Its handler (snapshot, authorisation) is
``commerce.orders.realtime``.
"""

from __future__ import annotations

from realtime.events import TopicKind

#: ``vendor:<vendor_id>``: a store's live desk (its staff only)
VENDOR_TOPIC = TopicKind("vendor", key="the store's (vendor's) id",
                         description="a store's live desk (orders, disputes, catalogue imports), for its staff")
