"""Celery 5.2.6 client for Lovage's interop tests: sends tasks and prints their outcomes as JSON.

Usage: client.py '<json>' where <json> is {"timeout": seconds, "calls": [{"name", "args", "kwargs",
"options": {"queue", "countdown", "expires"}}]}. Every call is sent first, then each result is awaited.
Prints one JSON array on stdout, one object per call:
  {"id", "state", "sent_at", "elapsed", "ok", "result"} on success, or
  {"id", "state", "sent_at", "elapsed", "ok": false, "exc_type", "exc_module", "exc_builtin", "exc_args",
   "traceback"} when get() raised.
"""
import builtins
import json
import sys
import time

from pytasks import app


def main():
    spec = json.loads(sys.argv[1])
    timeout = spec.get('timeout', 20)
    sent = []
    for call in spec['calls']:
        sent_at = time.time()
        r = app.send_task(call['name'], args=call.get('args', []), kwargs=call.get('kwargs', {}),
                          **call.get('options', {}))
        sent.append((r, sent_at))
    out = []
    for r, sent_at in sent:
        item = {'id': r.id, 'sent_at': sent_at}
        try:
            item['result'] = r.get(timeout=timeout)
            item['ok'] = True
        except Exception as e:  # the remote exception, re-raised by Celery
            cls = type(e)
            item.update(
                ok=False,
                exc_type=cls.__name__,
                exc_module=cls.__module__,
                exc_builtin=getattr(builtins, cls.__name__, None) is cls,
                exc_args=[a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in e.args],
                traceback=r.traceback,
            )
        item['elapsed'] = time.time() - sent_at
        item['state'] = r.state
        out.append(item)
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
