from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"
    verbose_name = "Commerce: vendors, catalogue, cart"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from commerce import realtime  # noqa: F401  (registers the cart: topic)
        from commerce import receivers

        receivers.connect()
