from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support: tickets to the marketplace"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from support import (  # noqa: F401  # cycle-breaker: ticket: and support_queue: topics, Celery tasks; models need the app registry
            realtime,
            tasks,
        )
