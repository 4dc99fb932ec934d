"""``manage.py realtime_publish <topic> <type> [--data JSON]``: publish one event through the
outbox from outside the web process (operations: announce maintenance on a topic, re-drive a
client; tests: the cross-process path)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from realtime.outbox import publish


class Command(BaseCommand):
    help = "Publish a realtime event to a topic through the transactional outbox."

    def add_arguments(self, parser):
        parser.add_argument("topic", help="e.g. user:<uuid>")
        parser.add_argument("type", help="event type, e.g. system.announcement")
        parser.add_argument("--data", default="{}", help="JSON object with the event data")

    def handle(self, topic, type, data, **options):
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise CommandError(f"--data is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise CommandError("--data must be a JSON object")
        try:
            with transaction.atomic():
                event = publish(topic=topic, type=type, data=payload)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        event.refresh_from_db()
        self.stdout.write(f"published {event.event_id} to {topic} as seq {event.seq}")
