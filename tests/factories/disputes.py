"""Disputes for tests. ``DisputeFactory()`` is an open dispute by the buyer of a delivered order
(made through the real delivery flow: ``tests.factories.delivery.delivered_order``), written
directly: an open dispute row is all that freezes an escrow, so races and sweeps can be tested
against one. To go through the rules (window, events, notifications) use
``commerce.disputes.services.dispute_open``."""

from __future__ import annotations

import factory

from commerce.disputes.models import Dispute, DisputeStatus
from tests.factories.delivery import delivered_order


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dispute

    order = factory.LazyFunction(delivered_order)
    opened_by = factory.LazyAttribute(lambda d: d.order.buyer)
    source = "buyer"
    reason = "damaged"
    description = factory.Faker("sentence")
    claimed_amount = factory.LazyAttribute(lambda d: d.order.total - d.order.refunded_total)
    currency = factory.LazyAttribute(lambda d: d.order.currency)
    status = DisputeStatus.OPEN

