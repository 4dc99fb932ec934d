from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from commerce.signals import order_status_changed

        from delivery import realtime  # noqa: F401  (registers the delivery: topic)
        from delivery.services import on_order_status_changed

        order_status_changed.connect(on_order_status_changed, dispatch_uid="delivery.create_on_ready")
