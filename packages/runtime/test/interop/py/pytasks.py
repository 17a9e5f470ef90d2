"""Celery 5.2.6 side of Lovage's interop tests (celery-interop.shared.ts, events-interop.shared.ts).

Configured from environment variables set by the test:
  LOVAGE_BROKER   broker URL   (default redis://127.0.0.1:6379/0)
  LOVAGE_BACKEND  backend URL  (default redis://127.0.0.1:6379/1)
  LOVAGE_PREFIX   broker_transport_options.global_keyprefix on Redis (unique per test file; '' on AMQP,
                  which has no key prefix)
  LOVAGE_MARKS_URL, LOVAGE_MARKS_PREFIX  the Redis where py.mark leaves <prefix>ran:<id> (default: the
                  Redis broker and LOVAGE_PREFIX)
"""
import os
import time

import redis
from celery import Celery

BROKER = os.environ.get('LOVAGE_BROKER', 'redis://127.0.0.1:6379/0')
BACKEND = os.environ.get('LOVAGE_BACKEND', 'redis://127.0.0.1:6379/1')
PREFIX = os.environ.get('LOVAGE_PREFIX', '')
MARKS_URL = os.environ.get('LOVAGE_MARKS_URL', BROKER)
MARKS_PREFIX = os.environ.get('LOVAGE_MARKS_PREFIX', PREFIX)

app = Celery('pytasks', broker=BROKER, backend=BACKEND)
app.conf.update(
    broker_transport_options={'global_keyprefix': PREFIX} if BROKER.startswith('redis') else {},
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    result_expires=600,
    enable_utc=True,
)


@app.task(name='py.add')
def add(a, b):
    return a + b


@app.task(name='py.fail')
def fail(message):
    raise ValueError(message)


@app.task(name='py.flaky', bind=True, max_retries=3)
def flaky(self, x):
    """Retries once (0.1 s later), then succeeds; reports how many retries it took."""
    if self.request.retries < 1:
        raise self.retry(countdown=0.1)
    return {'value': x * 2, 'retries': self.request.retries}


@app.task(name='py.now')
def now():
    """The wall-clock time (epoch seconds) at which the task ran."""
    return time.time()


@app.task(name='py.mark', bind=True)
def mark(self):
    """Leaves a trace in Redis (<marks prefix>ran:<id>) so a test can tell that the task ran."""
    redis.Redis.from_url(MARKS_URL).set(f'{MARKS_PREFIX}ran:{self.request.id}', '1', ex=600)
    return 'ran'


@app.task(name='py.request', bind=True)
def request(self, *args):
    """What the worker read from the message: its headers, properties and delivery_info."""
    r = self.request
    return {
        'timelimit': r.timelimit,
        'retries': r.retries,
        'delivery_info': r.delivery_info,
        'reply_to': r.reply_to,
        'correlation_id': r.correlation_id,
        'origin': r.origin,
        'argsrepr': r.argsrepr,
        'custom': getattr(r, 'x_custom', None),
    }


@app.task(name='py.tsum')
def tsum(numbers):
    """A chord body: the sum of its header's results."""
    return sum(numbers)
