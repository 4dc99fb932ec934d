"""``manage.py asyncapi [--check]``: rewrite ``docs/asyncapi.yaml`` with the event messages and
schemas generated from the code (``realtime.asyncapi``); ``--check`` only says whether the file
is up to date (exit status 1 when not), for CI and the test suite."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from realtime.asyncapi import regenerate


class Command(BaseCommand):
    help = "Regenerate the event parts of docs/asyncapi.yaml from the code (realtime.events)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="fail when the file is not up to date; write nothing")
        parser.add_argument("--path", default=str(Path(settings.BASE_DIR) / "docs" / "asyncapi.yaml"))

    def handle(self, *, check: bool, path: str, **options):
        target = Path(path)
        text = regenerate(target)
        if check:
            if target.read_text() != text:
                raise CommandError(f"{target} is out of date: run `manage.py asyncapi`")
            self.stdout.write(f"{target} is up to date")
            return
        target.write_text(text)
        self.stdout.write(f"wrote {target}")
