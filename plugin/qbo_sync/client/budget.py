"""One request budget per QuickBooks company, kept in Redis by every worker on every machine.

Keys (hash-tagged on the realm so a Redis Cluster keeps them in one slot):
  <prefix>:budget:{<realm>}:req      sorted set, one member per request sent, score = send time
  <prefix>:budget:{<realm>}:batch    the same for batch requests
  <prefix>:budget:{<realm>}:lease    sorted set of calls in flight, score = lease expiry
  <prefix>:budget:{<realm>}:pause    "paused until" (Redis server time), set after a 429

The acquire script runs atomically on Redis' own clock (TIME), so machines with skewed clocks
still agree. It admits a call only when all four limits have room and no pause is running, and
otherwise returns how long to wait: until the oldest request leaves the full window, until the
pause ends, or a short poll when every in-flight slot is taken. QuickBooks counts a request when
it arrives, so each window is widened by a small margin to absorb network jitter between send
and arrival. A lease expires on its own (`lease_ttl`, default the HTTP timeout + 5 s), so a
killed worker never holds a slot for long.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import redis

from ..config import Settings

log = logging.getLogger(__name__)

ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local id, is_batch = ARGV[1], ARGV[2] == '1'
local per_sec, per_min, batch_min = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local max_inflight, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
local sec_w, min_w, poll = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])

local pause = tonumber(redis.call('GET', KEYS[4]) or '0')
if pause > now then return {0, tostring(pause - now), 'paused'} end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - min_w)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - min_w)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)

if redis.call('ZCARD', KEYS[3]) >= max_inflight then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return {0, tostring(math.min(poll, tonumber(first[2]) - now)), 'in_flight'}
end

local function full(key, limit, window)
  local n = redis.call('ZCOUNT', key, '(' .. (now - window), '+inf')
  if n < limit then return nil end
  local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. (now - window), '+inf',
                            'WITHSCORES', 'LIMIT', n - limit, 1)
  return tonumber(oldest[2]) + window - now
end

local wait = full(KEYS[1], per_sec, sec_w)
if wait then return {0, tostring(wait), 'per_second'} end
local min_limit = per_min
if not is_batch and ARGV[12] == '1' then
  -- a single beside batch work: leave the window room for the batches it still allows
  local batches = redis.call('ZCOUNT', KEYS[2], '(' .. (now - min_w), '+inf')
  min_limit = per_min - math.max(0, batch_min - batches)
end
wait = full(KEYS[1], min_limit, min_w)
if wait then return {0, tostring(wait), 'per_minute'} end
if is_batch then
  wait = full(KEYS[2], batch_min, min_w)
  if wait then return {0, tostring(wait), 'batch_per_minute'} end
end

if ARGV[11] == '1' then  -- a peek: there is room; how many calls of the kind fit now
  local room = per_min - redis.call('ZCOUNT', KEYS[1], '(' .. (now - min_w), '+inf')
  if is_batch then
    room = math.min(room, batch_min - redis.call('ZCOUNT', KEYS[2], '(' .. (now - min_w), '+inf'))
  end
  return {1, tostring(room), 'ok'}
end
redis.call('ZADD', KEYS[1], now, id)
redis.call('PEXPIRE', KEYS[1], math.ceil(min_w * 1000) + 1000)
if is_batch then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('PEXPIRE', KEYS[2], math.ceil(min_w * 1000) + 1000)
end
redis.call('ZADD', KEYS[3], now + ttl, id)
redis.call('PEXPIRE', KEYS[3], math.ceil(ttl * 1000) + 1000)
return {1, '0', 'ok'}
"""

PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + seconds > current then
  redis.call('SET', KEYS[1], tostring(now + seconds), 'PX', math.ceil(seconds * 1000) + 1000)
  return tostring(seconds)
end
return tostring(current - now)
"""


@dataclass(frozen=True, slots=True)
class Lease:
    """Permission for one call; give it back with `Budget.release`."""

    realm_id: str
    lease_id: str
    is_batch: bool
    waited: float  # seconds spent waiting for it


@dataclass
class BudgetStats:
    acquired: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    pauses: int = 0


class Budget:
    """The per-company limits of `settings`, shared through Redis.

    `time_scale` > 1 shortens the windows (for an emulator running its clock faster);
    `margin` (real seconds) widens the per-second window and, times ten, the per-minute one.
    """

    def __init__(
        self,
        redis_conn: redis.Redis,
        settings: Settings,
        *,
        key_prefix: str = "qbo_sync",
        sleep: Callable[[float], None] = time.sleep,
        time_scale: float = 1.0,
        margin: float = 0.05,
        lease_ttl: float | None = None,
        poll: float = 0.02,
    ) -> None:
        self._redis = redis_conn
        self._acquire = redis_conn.register_script(ACQUIRE)
        self._pause = redis_conn.register_script(PAUSE)
        self._prefix = key_prefix
        self._sleep = sleep
        self.per_second = settings.rate_per_second
        self.per_minute = settings.rate_per_minute
        self.batch_per_minute = settings.batch_per_minute
        self.max_in_flight = settings.max_in_flight
        self.second_window = 1.0 / time_scale + margin
        self.minute_window = 60.0 / time_scale + margin * 10
        self.lease_ttl = lease_ttl if lease_ttl is not None else settings.http_timeout + 5.0
        self.poll = poll
        self.stats = BudgetStats()
        self._stats_lock = threading.Lock()

    def keys(self, realm_id: str) -> list[str]:
        base = f"{self._prefix}:budget:{{{realm_id}}}"
        return [f"{base}:req", f"{base}:batch", f"{base}:lease", f"{base}:pause"]

    def try_acquire(
        self, realm_id: str, is_batch: bool = False, batch_room: bool = False
    ) -> tuple[Lease | None, float, str]:
        """One attempt: (lease, 0, "ok") or (None, seconds to wait, why).

        `batch_room`: a single request that leaves the minute's window room for the batches
        the batch limit still allows in it (so singles beside batch work never crowd it out)."""
        lease_id = uuid.uuid4().hex
        ok, wait, reason = self._run(realm_id, lease_id, is_batch, peek=False, room=batch_room)
        if ok:
            return Lease(realm_id, lease_id, is_batch, 0.0), 0.0, reason
        return None, wait, reason

    def room(self, realm_id: str, is_batch: bool = False) -> tuple[float, int]:
        """(seconds until a call would be admitted, 0 when at once; how many calls of the
        kind the minute's windows still hold now). Takes nothing.

        The writer asks this to choose between a batch and single requests: while the batch
        window is full, singles keep the rest of the budget busy."""
        ok, value, _why = self._run(realm_id, "peek", is_batch, peek=True)
        return (0.0, int(value)) if ok else (value, 0)

    def _run(
        self, realm_id: str, lease_id: str, is_batch: bool, *, peek: bool, room: bool = False
    ) -> tuple[bool, float, str]:
        ok, wait, why = self._acquire(
            keys=self.keys(realm_id),
            args=[
                lease_id,
                "1" if is_batch else "0",
                self.per_second,
                self.per_minute,
                self.batch_per_minute,
                self.max_in_flight,
                self.lease_ttl,
                self.second_window,
                self.minute_window,
                self.poll,
                "1" if peek else "0",
                "1" if room else "0",
            ],
        )
        reason = why.decode() if isinstance(why, bytes) else str(why)
        return int(ok) == 1, max(float(wait), 0.0), reason

    def acquire(
        self,
        realm_id: str,
        is_batch: bool = False,
        batch_room: bool = False,
        beat: Callable[[], None] | None = None,
    ) -> Lease:
        """Block (sleeping what the script says, plus a little jitter) until a call is allowed;
        `beat` (the run's sign of life) is called about once a second while it waits."""
        waited = 0.0
        beaten = time.monotonic()
        while True:
            lease, wait, why = self.try_acquire(realm_id, is_batch, batch_room)
            if lease is not None:
                with self._stats_lock:
                    self.stats.acquired += 1
                    self.stats.waited_seconds += waited
                return Lease(realm_id, lease.lease_id, is_batch, waited)
            delay = max(wait, 0.001) + random.uniform(0, 0.005)
            with self._stats_lock:
                self.stats.waits += 1
            if why == "paused":
                log.debug("company %s paused for %.1f s", realm_id, wait)
            if beat is not None and time.monotonic() - beaten >= 1.0:
                beat()
                beaten = time.monotonic()
            slept = min(delay, 1.0) if beat is not None else delay
            self._sleep(slept)
            waited += slept

    def release(self, lease: Lease) -> None:
        """Give the in-flight slot back (the request stays counted in its windows)."""
        self._redis.zrem(self.keys(lease.realm_id)[2], lease.lease_id)

    def pause(self, realm_id: str, seconds: float) -> float:
        """Stop every worker's calls to this company for `seconds` (longest pause wins).

        Returns the pause now in force, in seconds.
        """
        with self._stats_lock:
            self.stats.pauses += 1
        remaining = self._pause(keys=[self.keys(realm_id)[3]], args=[max(seconds, 0.0)])
        log.warning("company %s throttled: paused %.1f s for every worker", realm_id, seconds)
        return float(remaining)

    def paused_for(self, realm_id: str) -> float:
        """Seconds left of the company's pause (0 when none), by the Redis clock."""
        # redis-py types its replies for both its sync and async clients; this one is sync.
        raw = cast("bytes | None", self._redis.get(self.keys(realm_id)[3]))
        if raw is None:
            return 0.0
        sec, usec = cast("tuple[int, int]", self._redis.time())
        return max(0.0, float(raw) - (sec + usec / 1e6))
