"""`flask qbo worker`: a ResumingWorker on the plugin's queue that outlives Redis outages.

RQ waits for Redis only while idle: Redis lost under a job kills the worker (it cannot even
record the job's end). Then this waits for Redis and starts a new worker, whose first pass finds
the run still running in the database with no lock, and resumes it.
"""

from __future__ import annotations

import logging
import signal
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .jobs import ResumingWorker, queue
from .state import qbo_state

log = logging.getLogger(__name__)


def work(*, burst: bool = False) -> None:
    """Work the queue (until it is empty, with `burst`), starting again after Redis outages."""
    interval = qbo_state().settings.resume_interval
    while True:
        q = queue()
        try:
            ResumingWorker([q], connection=q.connection, maintenance_interval=interval).work(
                burst=burst
            )
            return
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning(
                "Redis went away under the worker (%s); starting again when it is back", exc
            )
        _wait_for_redis()


def _wait_for_redis() -> None:
    """Until Redis answers a ping. RQ's signal handlers went with its worker (and need Redis):
    meanwhile SIGTERM and Ctrl-C simply end the process, which holds nothing now."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pause = 0.25
    while True:
        try:
            qbo_state().redis.ping()
            return
        except (RedisConnectionError, RedisTimeoutError):
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
