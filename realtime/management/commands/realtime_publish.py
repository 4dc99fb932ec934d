"""``manage.py realtime_publish <topic> <type> [--data JSON]``: publish one event through the
outbox from outside the web process (operations: announce maintenance on a topic, re-drive a
client; tests: the cross-process path). The type must be a declared event type
(``realtime.events``) published on the topic's kind, and the data must match its schema: it is
always validated here, whatever ``REALTIME["VALIDATE_EVENTS"]`` says."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from realtime.events import get_event_type, validate
from realtime.outbox import publish


class Command(BaseCommand):
    help = "Publish a realtime event to a topic through the transactional outbox."

    def add_arguments(self, parser):
        parser.add_argument("topic", help="e.g. user:<uuid>")
        parser.add_argument("type", help="a declared event type, e.g. system.announcement")
        parser.add_argument("--data", default="{}", help="JSON object with the event data (its schema: docs/asyncapi.yaml)")

    def handle(self, topic, type, data, **options):
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise CommandError(f"--data is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise CommandError("--data must be a JSON object")
        schema = get_event_type(type)
        if schema is None:
            raise CommandError(f"unknown event type {type!r} (see docs/asyncapi.yaml)")
        event = schema.event(payload)
        try:
            validate(event)
            with transaction.atomic():
                row = publish(topic=topic, event=event)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        row.refresh_from_db()
        self.stdout.write(f"published {row.event_id} to {topic} as seq {row.seq}")
