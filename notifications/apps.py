from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import kinds, realtime  # noqa: F401  (built-in kinds; user: snapshot counts)
