"""A stand-in for celery beat in tests: run the supervisor task's body every N seconds.

``python -m tests.ingest.watch.beat INTERVAL OPTIONS_JSON`` in the stack's environment, so it
enqueues through whatever broker REDIS_URL names (a test's own Redis, restarted mid-test).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")


def main() -> None:
    import django

    django.setup()
    from django.db import close_old_connections, connection

    from lifecycle_dash.ingest.tasks import supervise_streams

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    interval = float(sys.argv[1])
    options = json.loads(sys.argv[2])
    while True:
        try:
            supervise_streams(options)
        except Exception:
            # A killed database connection or a Redis restart: next beat.
            logging.exception("beat failed")
            connection.close()
        close_old_connections()
        time.sleep(interval)


if __name__ == "__main__":
    main()
