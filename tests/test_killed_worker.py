"""A real worker process killed (SIGKILL) in the middle of a run: the run ends failed, not generating.

Needs a broker shared between processes, so it runs in services mode (REDIS_URL set, as in CI's
second pass); the embedded in-memory broker lives inside one process. The unit-level cases
(reaper, resume on redelivery) are in test_runs_reaper.py and run in both modes.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from personas.models import Persona
from pipeline.models import PipelineRun, StepRun
from pipeline.offline import offline_reply
from pipeline.services import persona_generate
from pipeline.tasks import execute_run
from studio.principal import Principal
from tests.generation_helpers import BRIEF, use_test_server

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "killed-worker-test"

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a cross-process broker: runs in services mode (CI's second pass)"),
]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_run_leaves_a_failed_run_and_persona(tenant, llm_server, settings, monkeypatch):
    llm_server.latency_s = 1.0  # slow enough to kill the worker inside a step
    llm_server.default_reply = lambda request: offline_reply(request.messages)
    use_test_server(tenant, llm_server)
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "studio", "worker", "-Q", QUEUE, "--pool=solo", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # Only the worker under test may take this run (not CI's own worker on the default queue).
        monkeypatch.setattr(execute_run, "delay", lambda *args, **kwargs: None)
        persona, run = persona_generate(principal=Principal.from_membership(tenant.membership("owner")), brief=BRIEF)
        execute_run.apply_async(args=[run.pk], queue=QUEUE)
        _wait_for(lambda: StepRun.objects.filter(run=run, step="soul_draft").exists(), 60, "the worker to reach soul_draft")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    run.refresh_from_db()
    assert run.status == "running"  # as the dead worker left it

    settings.PIPELINE_STALE_AFTER_S = 1
    time.sleep(1.5)
    from pipeline.runner import reap_stale_runs

    assert reap_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "worker stopped responding" in run.error
    assert Persona.objects.get(pk=persona.pk).status == "failed"
    assert run.events.order_by("seq").last().type == "pipeline.failed"
    assert PipelineRun.objects.unfinished().count() == 0
