from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        from realtime import receivers, user_topic  # noqa: F401  # cycle-breaker: they need the app registry (models)

        receivers.connect()
        # Every app's event types (``<app>/events.py``, ``realtime.events``): declared in every
        # process, so ``realtime_publish`` and ``manage.py asyncapi`` know them all. By module
        # name, as the admin discovers ``admin.py``: the gateway imports no domain app.
        autodiscover_modules("events")
