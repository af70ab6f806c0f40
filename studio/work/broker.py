"""The Redis broker transport, with the fix that keeps a worker alive when Redis restarts.

kombu 5.7's Redis channel rebuilds its connection parameters from `self.connection.client` every
time it opens a pool. When the broker goes away, the worker closes its connection and kombu's
`Connection._do_close_transport()` sets that `client` to None; a channel closed after that (the
consumer's, as celery restarts its consumer) restores its unacknowledged messages (acks_late tasks
still running in the pool), which opens a pool, which reads `None.hostname`. The AttributeError is not
one of the transport's connection errors, so celery calls it unrecoverable and the worker's main
process exits, taking beat with it (2 of 2 restarts in a probe with a generation in flight).

Here a channel whose connection is gone raises redis' ConnectionError instead: celery treats that as
the broker being down, keeps the worker running and reconnects. The unacknowledged messages are not
lost: they stay in Redis' `unacked` hash (the task is still running and acks when it ends; a message
whose worker died is restored after the visibility timeout), and our reaper ends or resumes the work
behind them in any case.

Used through CELERY_BROKER_TRANSPORT = "studio.work.broker:Transport" (an explicit transport wins over
the redis:// scheme of the URL).
"""

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("the broker connection was closed; unacknowledged messages stay in Redis")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
