"""Celery 5.2.6 tasks for Lovage's remote-control interop tests (control-interop.shared.ts).

Reuses the app of pytasks.py (same broker, backend and LOVAGE_PREFIX key prefix) and adds the tasks the
control tests need. Start a worker on it with `python3 -m celery -A control_tasks worker …`.
"""
import time

from pytasks import app  # noqa: F401  (the Celery app; `-A control_tasks` finds it here)


@app.task(name='ctl.add')
def add(a, b):
    return a + b


@app.task(name='ctl.sleep')
def sleep(seconds):
    """Sleeps in the pool process; a target for `revoke --terminate` and for `inspect active`."""
    time.sleep(seconds)
    return seconds


@app.task(name='ctl.limited')
def limited(seconds):
    """Sleeps; the test sets a soft time limit on it through `time_limit` and expects it to be interrupted."""
    time.sleep(seconds)
    return 'not interrupted'
