"""Celery 5.2.6 remote-control client for Lovage's interop tests (control-interop.shared.ts).

Usage: control_client.py '<json>' where <json> is
  {"destination": ["name@host"], "timeout": seconds, "steps": [step, …]} and each step is one of
  {"kind": "ping"}                                          app.control.ping(destination=…)
  {"kind": "inspect", "method": m, "args": […], "kwargs": {…}}  app.control.inspect(destination=…).m(*args, **kwargs)
  {"kind": "control", "method": m, "args": […], "kwargs": {…}}  app.control.m(*args, destination=…, reply=True, …)
  {"kind": "broadcast", "method": m, "arguments": {…}, "reply": bool}  app.control.broadcast(m, …)
Prints one JSON array on stdout: what each call returned, as the Celery client parsed it.

The module also exposes the Celery app (`app`), so `python3 -m celery -A control_client inspect ping` works.
"""
import json
import sys

from control_tasks import app  # noqa: F401  (also the app of `celery -A control_client`)


def run(spec):
    destination = spec['destination']
    timeout = spec.get('timeout', 2)
    out = []
    for step in spec['steps']:
        kind = step['kind']
        args = step.get('args', [])
        kwargs = step.get('kwargs', {})
        if kind == 'ping':
            out.append(app.control.ping(destination=destination, timeout=timeout))
        elif kind == 'inspect':
            inspector = app.control.inspect(destination=destination, timeout=timeout)
            out.append(getattr(inspector, step['method'])(*args, **kwargs))
        elif kind == 'control':
            call = getattr(app.control, step['method'])
            out.append(call(*args, destination=destination, reply=True, timeout=timeout, **kwargs))
        elif kind == 'broadcast':
            out.append(app.control.broadcast(step['method'], arguments=step.get('arguments', {}),
                                             destination=destination, reply=step.get('reply', False),
                                             timeout=timeout))
        else:
            raise ValueError(f'unknown step kind {kind!r}')
    return out


if __name__ == '__main__':
    sys.stdout.write(json.dumps(run(json.loads(sys.argv[1]))) + '\n')
    sys.stdout.flush()
