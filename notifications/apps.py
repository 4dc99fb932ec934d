from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import (  # noqa: F401  # cycle-breaker: built-in kinds, user: snapshot counts; models need the app registry
            kinds,
            realtime,
        )
