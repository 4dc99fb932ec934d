from django.apps import AppConfig

from commerce.orders.signals import order_status_changed
from commerce.returns.signals import return_pickup_cancelled, return_pickup_requested
from commerce.shipping.hooks import store_pickup_point


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery import (  # noqa: F401  # cycle-breaker: they import models, which need the app registry
            realtime,
            services,
        )

        order_status_changed.connect(services.on_order_status_changed, dispatch_uid="delivery.create_on_ready")
        return_pickup_requested.connect(services.on_return_pickup_requested, dispatch_uid="delivery.return_pickup")
        return_pickup_cancelled.connect(services.on_return_pickup_cancelled,
                                        dispatch_uid="delivery.return_pickup_cancelled")
        store_pickup_point.provide(services.store_pickup_point)
