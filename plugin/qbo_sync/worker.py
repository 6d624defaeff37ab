"""`flask qbo worker`: a ResumingWorker on the plugin's queue that outlives Redis outages, with
RQ's scheduler (which moves scheduled firings, schedule.py, to the queue when they are due).

RQ waits for Redis only while idle: Redis lost under a job kills the worker (it cannot even
record the job's end). Then this waits for Redis and starts a new worker, whose first pass finds
the run still running in the database with no lock, and resumes it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from multiprocessing.process import BaseProcess

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler

from .jobs import ResumingWorker, queue
from .retention import keep_history
from .schedule import keep_schedules
from .state import qbo_state

log = logging.getLogger(__name__)


class WatchedScheduler(RQScheduler):
    """RQ's scheduler process, which also stops when its worker is gone: a worker killed
    outright would leave it behind, moving jobs for as long as Redis lives."""

    _worker_pid = 0

    def start(self) -> BaseProcess:
        self._worker_pid = os.getpid()  # read in the forked process
        return super().start()  # type: ignore[no-any-return, no-untyped-call]  # untyped in RQ

    def heartbeat(self) -> None:
        if self._worker_pid and os.getppid() != self._worker_pid:
            self.request_stop()  # type: ignore[no-untyped-call]  # its loop stops, unlocking
        super().heartbeat()  # type: ignore[no-untyped-call]  # untyped in RQ


class SchedulingWorker(ResumingWorker):
    """A ResumingWorker whose `with_scheduler` starts a WatchedScheduler (as RQ's own does)."""

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        self.scheduler = WatchedScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if not self.scheduler.acquired_locks:
            return  # another worker's scheduler serves the queue; maintenance tries again
        if burst:  # move what is due now, once
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
            finally:
                self.scheduler.release_locks()  # type: ignore[no-untyped-call]
                self.scheduler.register_death()
        else:
            self.scheduler.start()


def work(*, burst: bool = False) -> None:
    """Work the queue (until it is empty, with `burst`) with RQ's scheduler, starting again
    after Redis outages; each maintenance pass also keeps the schedules armed and, once an
    hour among all workers, prunes the history (retention.py)."""
    interval = qbo_state().settings.resume_interval
    while True:
        q = queue()
        try:
            SchedulingWorker(
                [q],
                connection=q.connection,
                maintenance_interval=interval,
                passes=[keep_schedules, keep_history],
            ).work(burst=burst, with_scheduler=True)
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
