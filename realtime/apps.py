from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        from realtime import receivers, user_topic  # noqa: F401  # cycle-breaker: they need the app registry (models)

        receivers.connect()
