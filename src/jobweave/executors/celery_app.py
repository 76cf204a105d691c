"""The Celery application jobweave sends attempts through, with safe settings.

Celery is only the transport: a message names an attempt (run, slot, attempt, token,
lease) and the store decides whether it may run. So: late acks, one message prefetched
per process, a message given back when its process dies, no result backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobweave.errors import ConfigError
from jobweave.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

TASK = "jobweave.attempt"
"""The one Celery task name: the worker's shim (``celery_worker.run_attempt``)."""


def broker_of(settings: Settings) -> str:
    """The broker URL, or a one-line error saying how to give one."""
    if not settings.broker:
        raise ConfigError("executor celery needs a broker: set JOBWEAVE_BROKER to "
                          "redis://host:6379/0 or amqp://user:password@host:5672// "
                          "(jobweave worker also takes it as --broker)")
    if not settings.broker.startswith(("redis://", "rediss://", "amqp://", "amqps://",
                                       "pyamqp://")):
        raise ConfigError(f"broker {settings.broker!r}: use a redis:// or amqp:// URL")
    return settings.broker


def validate(settings: Settings, longest_timeout: float | None) -> None:
    """Refuse, with one line, settings under which Celery could lose or repeat work."""
    from jobweave.executors.attempts import conninfo

    conninfo(settings.store)  # a PostgreSQL store, which workers elsewhere can reach
    broker = broker_of(settings)
    if (longest_timeout is not None and broker.startswith(("redis", "rediss"))
            and longest_timeout >= settings.visibility_timeout):
        raise ConfigError(
            f"a job's timeout ({longest_timeout:g}s) is not shorter than the Redis broker's "
            f"visibility timeout ({settings.visibility_timeout:g}s): Redis would deliver the "
            "job again while it runs; raise JOBWEAVE_VISIBILITY_TIMEOUT or lower the timeout")


def config(settings: Settings) -> dict[str, Any]:
    """jobweave's Celery settings (documented in docs/scale-out.md)."""
    return {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": settings.queue,
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "broker_connection_retry_on_startup": True,
        "worker_redirect_stdouts": False,
        "worker_hijack_root_logger": False,
    }


def make_app(settings: Settings) -> Celery:
    """A Celery app on the settings' broker, with jobweave's task registered."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError("executor celery needs Celery: pip install 'jobweave[celery]'") \
            from None
    app = Celery("jobweave", broker=broker_of(settings), set_as_current=False)
    app.conf.update(config(settings))

    @app.task(name=TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def attempt(run_id: str, slot: str, attempt: int, token: str, lease: float) -> None:
        from jobweave.executors.celery_worker import run_attempt

        run_attempt(settings.store, run_id, slot, attempt, token, lease)

    return app
