"""Celery 5.2.6 event receiver for Lovage's interop tests: the receiver `celery events` and flower run.

Usage: events_receiver.py '<json>' where <json> is {"until": [pattern, ...], "timeout": seconds} and a
pattern is an object of event fields ({"type": "task-succeeded", "uuid": id}). Prints `ready` once its
queue is bound to the `celeryev` exchange; then, once every pattern has matched an event (or after `timeout`
seconds without any message), one JSON line:
  {"events": [each event as Celery's receiver hands it to a handler],
   "routing_keys": [the routing key of each message received]}
"""
import json
import socket
import sys

from pytasks import app


def main():
    spec = json.loads(sys.argv[1])
    waiting = list(spec['until'])
    events = []
    keys = []

    class Recorder(app.events.Receiver):
        def on_consume_ready(self, connection, channel, consumers, **kwargs):
            sys.stdout.write('ready\n')
            sys.stdout.flush()

        def _receive(self, body, message, **kwargs):
            keys.append(message.delivery_info.get('routing_key'))
            super()._receive(body, message)

    def on_event(event):
        events.append(event)
        waiting[:] = [p for p in waiting if any(event.get(k) != v for k, v in p.items())]
        if not waiting:
            recorder.should_stop = True

    with app.connection_for_read() as conn:
        recorder = Recorder(conn, handlers={'*': on_event})
        try:
            recorder.capture(timeout=spec.get('timeout', 20), wakeup=False)
        except socket.timeout:
            pass
    sys.stdout.write(json.dumps({'events': events, 'routing_keys': keys}, default=str) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
