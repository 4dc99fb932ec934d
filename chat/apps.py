from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat: buyer–vendor conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chat import (  # noqa: F401  # cycle-breaker: chat: topic, user: snapshot counts, Celery tasks, staff receivers; models need the app registry
            realtime,
            receivers,
            tasks,
        )

        receivers.connect()
