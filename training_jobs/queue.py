"""Queueing Celery work by task name. The task modules import the services and the engine that queue their work,
so naming the task keeps the imports one way (tasks → services / engine → queue)."""

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send `task_name(*args)` once the current transaction commits.

    A worker has imported every app's tasks module (autodiscovery); a web or test process may not have yet, so the
    loader imports them the first time a name is missing — then eager mode (tests) runs the task inline, as `delay` would.
    """

    def send() -> None:
        if task_name not in current_app.tasks:
            current_app.loader.import_default_modules()
        current_app.tasks[task_name].delay(*args)

    transaction.on_commit(send)


def job_enqueue(job) -> None:
    """Run the training job (training_jobs.tasks.run_training_job on the gpu queue) after the commit."""
    enqueue_on_commit("training_jobs.tasks.run_training_job", job.pk)
