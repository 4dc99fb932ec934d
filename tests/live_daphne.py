"""``python -m tests.live_daphne``: the production launcher (``realtime.daphne``) for the test
suite's long-lived Daphne process, with one test-only change.

The test database is flushed between transactional tests, and Django recreates the content types
with *new* ids each time. A process that lives across tests would keep the old ids in
``ContentType``'s per-process cache and write dangling foreign keys (notifications with a
target). Production never renumbers content types, so only this launcher looks them up afresh.
"""

import django

django.setup()  # core.asgi would do it too; the patch below needs the models

from django.contrib.contenttypes.models import ContentTypeManager  # noqa: E402

_get_for_model = ContentTypeManager.get_for_model


def _fresh_get_for_model(self, *args, **kwargs):
    self.clear_cache()
    return _get_for_model(self, *args, **kwargs)


ContentTypeManager.get_for_model = _fresh_get_for_model

from realtime.daphne import main  # noqa: E402

if __name__ == "__main__":
    main()
