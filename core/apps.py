from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts and platform"

    def ready(self) -> None:
        from core import realtime, schema  # noqa: F401  (registers the user: topic, the OpenAPI JWT scheme)
