"""Celery 5.2.6 canvas client for Lovage's interop tests (canvas-interop.shared.ts): builds a canvas whose
steps go to the given queues, sends it, waits for its result and prints the outcome as JSON.

Usage: canvas_client.py '<json>' with {"scenario", "timeout", "lq", "pq"} (and "gid" for `restore`): `lq` is the Lovage worker's queue,
`pq` a Celery worker's (mixed chords). Prints one JSON object: {"id", "ok", "state", "result"} or, when get()
raised, {"id", "ok": false, "state", "exc_type", "exc_args"}, plus the ids the scenario needs ("ids").
"""
import json
import sys

from celery import chain, chord, group
from celery.result import GroupResult

from pytasks import app


def sig(name, args=(), queue=None, **options):
    return app.signature(name, args=args, queue=queue, **options)


def build(spec):
    lq, pq = spec['lq'], spec.get('pq')
    name = spec['scenario']
    if name == 'chain':
        r = chain(sig('ts.add', (2, 3), lq), sig('ts.mul', (4,), lq)).apply_async()
        return r, {'first': r.parent.id, 'root': r.parent.id}
    if name == 'chain3':
        r = chain(sig('ts.add', (1, 2), lq), sig('ts.add', (3,), lq), sig('ts.add', (4,), lq)).apply_async()
        return r, {'first': r.parent.parent.id, 'second': r.parent.id}
    if name == 'link':
        cb = sig('ts.mul', (10,), lq)
        cb_id = cb.freeze().id
        still = sig('ts.add', (1, 1), lq, immutable=True)
        still_id = still.freeze().id
        r = sig('ts.add', (2, 3), lq).apply_async(link=[cb, still])
        return r, {'callback': cb_id, 'immutable': still_id}
    if name == 'link_error':
        eb = sig('ts.recordError', (), lq)
        eb_id = eb.freeze().id
        r = sig('ts.fail', ('boom',), lq).apply_async(link_error=eb)
        return r, {'errback': eb_id}
    if name == 'chain_fails':
        eb = sig('ts.recordError', (), lq)
        r = chain(sig('ts.add', (1, 1), lq), sig('ts.fail', ('boom',), lq), sig('ts.mul', (3,), lq)).apply_async(
            link_error=eb)
        return r, {'first': r.parent.parent.id, 'failed': r.parent.id}
    if name == 'chain_to_group':
        r = chain(sig('ts.add', (1, 1), lq), group(sig('ts.mul', (2,), lq), sig('ts.mul', (3,), lq))).apply_async()
        return r, {'children': [c.id for c in r.results]}
    if name == 'chain_to_chord':
        r = chain(sig('ts.add', (1, 1), lq), group(sig('ts.mul', (2,), lq), sig('ts.mul', (3,), lq)),
                  sig('ts.tsum', (), lq)).apply_async()
        return r, {}
    if name == 'group':
        r = group(sig('ts.add', (i, i), lq) for i in range(4)).apply_async()
        return r, {'children': [c.id for c in r.results]}
    if name == 'chord':
        r = chord([sig('ts.add', (i, i), lq) for i in range(5)], sig('ts.tsum', (), lq)).apply_async()
        return r, {}
    if name == 'chord_mixed':
        header = [sig('ts.add' if i % 2 else 'py.add', (i, i), lq if i % 2 else pq) for i in range(6)]
        r = chord(header, sig('ts.tsum', (), lq)).apply_async()
        return r, {}
    if name == 'chord_mixed_py_body':
        header = [sig('ts.add' if i % 2 else 'py.add', (i, 10 * i), lq if i % 2 else pq) for i in range(4)]
        r = chord(header, sig('py.tsum', (), pq)).apply_async()
        return r, {}
    if name == 'chord_fails':
        eb = sig('ts.recordError', (), lq)
        body = sig('ts.tsum', (), lq)
        body.link_error(eb)
        header = [sig('ts.add', (1, 1), lq), sig('ts.fail', ('boom',), lq), sig('ts.add', (2, 2), lq)]
        r = chord(header, body).apply_async()
        return r, {}
    if name == 'chord_chain_fails':
        header = [chain(sig('ts.fail', ('boom',), lq), sig('ts.mul', (3,), lq)), sig('ts.add', (2, 2), lq)]
        r = chord(header, sig('ts.tsum', (), lq)).apply_async()
        return r, {}
    if name == 'restore':
        # A group saved by Lovage's GroupResult.save(), read back by Celery's own restore.
        r = GroupResult.restore(spec['gid'], app=app)
        return r, {'children': [c.id for c in r.results]}
    raise SystemExit(f'unknown scenario {name}')


def main():
    spec = json.loads(sys.argv[1])
    r, ids = build(spec)
    item = {'id': r.id, 'ids': ids}
    try:
        item['result'] = r.get(timeout=spec.get('timeout', 15), disable_sync_subtasks=False)
        item['ok'] = True
    except Exception as e:  # the remote exception, re-raised by Celery
        item.update(ok=False, exc_type=type(e).__name__, exc_args=[repr(a) if not isinstance(a, str) else a
                                                                     for a in e.args])
    item['state'] = getattr(r, 'state', None)  # a GroupResult has none
    sys.stdout.write(json.dumps(item) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
