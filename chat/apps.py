from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat: buyer–vendor conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chat import (
            realtime,  # noqa: F401  (registers the chat: topic and the user: snapshot counts)
            tasks,  # noqa: F401  (Celery tasks)
        )
