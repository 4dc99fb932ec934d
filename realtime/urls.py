"""Routes of the realtime app's web pages, included at ``/console/`` by ``core.urls``."""

from django.urls import path

from realtime import console

urlpatterns = [
    path("", console.console_index, name="console"),
]
