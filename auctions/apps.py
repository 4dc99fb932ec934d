from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"
    verbose_name = "Auctions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auctions import (  # noqa: F401  # cycle-breaker: auction: topic, notification kinds; models need the app registry
            realtime,
            services,
        )
