"""jobweave's Celery application, for users who run their own workers::

    JOBWEAVE_STORE=postgresql://... JOBWEAVE_BROKER=redis://... \\
        celery -A jobweave.celery worker -Q jobweave -O fair

``app`` is configured from ``JOBWEAVE_*`` variables (store, broker, default queue,
visibility timeout) with jobweave's safe settings (late acks, prefetch 1, reject on a
lost worker, no result backend); see docs/scale-out.md. ``jobweave worker`` starts the
same app with those settings from its options.
"""

from __future__ import annotations

from jobweave.executors.celery_app import make_app
from jobweave.settings import Settings

app = make_app(Settings.from_env())
