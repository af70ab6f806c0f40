"""Imported by the fan-out's forkserver (studio.llm.fanout) before it forks a worker: Django's apps are loaded there
once, so each worker starts with them instead of importing every app's models itself (about a second of CPU a
worker). No database connection is opened: the workers only unpickle `parse` functions from app modules."""

import os

if os.environ.get("DJANGO_SETTINGS_MODULE"):
    import django

    django.setup(set_prefix=False)
