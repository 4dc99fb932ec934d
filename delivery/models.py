"""Deliveries: courier profiles, delivery attempts of an order (at most one not ended at a time; a
failed attempt can be followed by a new one), and the courier's positions (kept and rejected, with
the reason). Where an attempt starts is the store's pickup point (``commerce.stores``), copied into
the attempt when it is made.

Units: coordinates in decimal degrees (WGS 84), distances in metres, speeds in m/s, headings in
degrees, accuracy in metres; device timestamps (``ts``) and server times are aware UTC.
Status pipeline (Uber Direct's courier statuses, simplified): see :data:`DELIVERY_TRANSITIONS`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fsm import StateMachine


class VehicleType(models.TextChoices):
    BICYCLE = "bicycle", "Bicycle"
    SCOOTER = "scooter", "Scooter"
    CAR = "car", "Car"
    VAN = "van", "Van"
    WALKING = "walking", "On foot"


class CourierProfile(models.Model):
    """A courier's vehicle and whether they are online (taking deliveries)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="courier_profile")
    vehicle_type = models.CharField(max_length=16, choices=VehicleType.choices, default=VehicleType.BICYCLE)
    online = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a courier"
    ASSIGNED = "assigned", "Courier assigned"
    PICKED_UP = "picked_up", "Picked up"
    EN_ROUTE = "en_route", "On the way"
    ARRIVING = "arriving", "Arriving"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


S = DeliveryStatus
#: allowed moves; ``arriving`` is also set automatically within ``DELIVERY_ARRIVING_RADIUS_M``;
#: ``cancelled`` only follows the order's cancellation or full refund (before pickup)
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.PICKED_UP, S.FAILED, S.CANCELLED}),
    S.PICKED_UP: frozenset({S.EN_ROUTE, S.ARRIVING, S.DELIVERED, S.FAILED}),
    S.EN_ROUTE: frozenset({S.ARRIVING, S.DELIVERED, S.FAILED}),
    S.ARRIVING: frozenset({S.DELIVERED, S.FAILED}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
#: the delivery's state machine (``core.fsm``); only ``delivery.services`` moves it
DELIVERY_MACHINE = StateMachine("delivery", DELIVERY_TRANSITIONS)
ACTIVE_STATUSES = (S.ASSIGNED, S.PICKED_UP, S.EN_ROUTE, S.ARRIVING)
ENDED_STATUSES = (S.DELIVERED, S.FAILED, S.CANCELLED)
del S


class DeliveryMode(models.TextChoices):
    """Who carries the parcel: a marketplace ``courier`` (claims it from the open list) or the
    ``store`` itself (one of its staff takes it and acts as the courier, with the same PIN/QR
    proof of delivery)."""

    COURIER = "courier", "Marketplace courier"
    STORE = "store", "The store's own staff"


class Delivery(models.Model):
    """One delivery attempt of an order, created when the store marks the order ready for pickup
    (``attempt`` 1, 2… per order; at most one attempt not ended per order, a database
    constraint). ``pin`` (4 digits, new per attempt) is shown only to the buyer; whoever carries
    it (``courier``: a courier, or a store's staff member with ``mode`` ``store``) completes with
    it or the buyer's signed QR token. ``last_*`` is the last *kept* position; ``broadcast_*``
    what watchers last got."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey("commerce.Order", on_delete=models.PROTECT, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField(default=1)
    mode = models.CharField(max_length=16, choices=DeliveryMode.choices, default=DeliveryMode.COURIER)
    courier = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    pickup_lat = models.FloatField()
    pickup_lon = models.FloatField()
    dropoff_lat = models.FloatField()
    dropoff_lon = models.FloatField()
    pin = models.CharField(max_length=4)
    pin_attempts = models.PositiveSmallIntegerField(default=0)
    pin_locked = models.BooleanField(default=False)
    qr_used = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=200, blank=True)
    cancel_reason = models.CharField(max_length=64, blank=True)
    proof = models.CharField(max_length=16, blank=True, help_text="pin or qr")
    last_lat = models.FloatField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    last_ts = models.DateTimeField(null=True, blank=True)
    last_speed_mps = models.FloatField(null=True, blank=True)
    last_heading_deg = models.FloatField(null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)
    broadcast_ts = models.DateTimeField(null=True, blank=True)
    stale = models.BooleanField(default=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status"], name="delivery_status"),
                   models.Index(fields=["courier", "status"], name="delivery_courier")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in DeliveryStatus]), name="delivery_status_valid"),
            models.CheckConstraint(condition=Q(mode__in=[m.value for m in DeliveryMode]), name="delivery_mode_valid"),
            models.UniqueConstraint(fields=["order"], condition=~Q(status__in=[s.value for s in ENDED_STATUSES]),
                                    name="delivery_one_open_per_order"),
            models.UniqueConstraint(fields=["order", "attempt"], name="delivery_attempt_once"),
        ]

    @property
    def tracking_ended(self) -> bool:
        return self.status in ENDED_STATUSES


class LocationPoint(models.Model):
    """One position the courier's phone sent for a delivery: device ``ts``, coordinates,
    ``accuracy_m``, optional speed and heading. ``kept`` points form the path; rejected ones keep
    their ``reject_reason`` (``jump``); inaccurate ones are kept but ``broadcastable`` is False.
    Unique per (delivery, ts): a duplicate is dropped."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="points")
    ts = models.DateTimeField()
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy_m = models.FloatField()
    speed_mps = models.FloatField(null=True, blank=True)
    heading_deg = models.FloatField(null=True, blank=True)
    kept = models.BooleanField(default=True)
    broadcastable = models.BooleanField(default=True)
    reject_reason = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["delivery", "ts"]
        constraints = [models.UniqueConstraint(fields=["delivery", "ts"], name="delivery_point_ts_once")]
        indexes = [models.Index(fields=["received_at"], name="delivery_point_received")]
