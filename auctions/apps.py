from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"
    verbose_name = "Auctions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auctions import realtime, services  # noqa: F401  (auction: topic, notification kinds)
