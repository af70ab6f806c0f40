"""Enqueue a Celery task by its name.

An app's `services` start work that its `tasks` module runs, and `tasks` call into `services`: importing the task
object from `services` made the two one import cycle. Services name the task instead (its dotted path); the module
is imported when the work is queued, so the task is registered and the same task object is used (tests that patch
`<module>.<task>.delay` still see the call).
"""

from importlib import import_module


def task_named(name: str):
    """The Celery task at the dotted path `name` (e.g. "pipeline.tasks.execute_run")."""
    module, _, attribute = name.rpartition(".")
    return getattr(import_module(module), attribute)


def enqueue(name: str, *args, **kwargs):
    """`task.delay(*args, **kwargs)` for the task named `name` (eager under task_always_eager, as `delay` is)."""
    return task_named(name).delay(*args, **kwargs)
