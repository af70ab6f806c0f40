"""Faults on the real services: a Redis restart mid-run, and a worker killed (SIGKILL) mid-run.

Each test has a redis-server of its own (tests/worker_processes.py), a separate Celery worker process with beat
(`celery -A studio worker -B`, as `make worker` runs it) and, for the live views, daphne. Services mode only
(REDIS_URL set, CI's second pass). Figures are printed (pytest -s shows them).
"""

import asyncio
import json
import os
import signal
import threading
import time

import aiohttp
import pytest
import requests

from pipeline import tasks as pipeline_tasks
from pipeline.models import PipelineRun
from pipeline.services import persona_generate
from studio.principal import Principal
from tests.conftest import login_client
from tests.generation_helpers import BRIEF
from tests.worker_processes import private_redis, publish, start_server, start_worker, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the real services: runs in services mode (CI's second pass)"),
]

PACE_S = 1.0  # the offline engine's pause per call in the worker: a run takes ~7 s, long enough to restart Redis inside it
REDIS_DOWN_S = 3.0


class SseClient(threading.Thread):
    """Follows a run's SSE stream like a browser's EventSource: reconnects with Last-Event-ID until a terminal event."""

    def __init__(self, url: str, key: str):
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.events: list[tuple[int, str, float]] = []  # (seq, type, when received)
        self.connections, self.keepalives, self.done = 0, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            headers = {"Authorization": f"Bearer {self.key}"}
            if self.events:
                headers["Last-Event-ID"] = str(self.events[-1][0])
            try:
                self.connections += 1
                with requests.get(self.url, headers=headers, stream=True, timeout=(5, 30)) as response:
                    self._read(response)
            except requests.RequestException:
                pass
            if not self.done.is_set():
                time.sleep(0.5)  # EventSource's retry

    def _read(self, response):
        seq = kind = None
        for raw in response.iter_lines(decode_unicode=True):
            if raw.startswith(":"):
                self.keepalives += 1
            elif raw.startswith("id: "):
                seq = int(raw[4:])
            elif raw.startswith("event: "):
                kind = raw[7:]
            elif raw == "" and seq is not None:
                self.events.append((seq, kind, time.monotonic()))
                if kind in PipelineRun.TERMINAL_EVENTS:
                    self.done.set()
                    return
                seq = kind = None


class WsPage(threading.Thread):
    """The run page's WebSocket as the htmx ws extension uses it: reconnects (same URL) on 1006/1011/1012/1013."""

    RETRY = (1006, 1011, 1012, 1013)

    def __init__(self, url: str, cookie: str, origin: str):
        super().__init__(daemon=True)
        self.url, self.cookie, self.origin = url, cookie, origin
        self.messages: list[str] = []
        self.closes: list[int] = []
        self.stop = threading.Event()

    def run(self):
        asyncio.run(self._follow())

    async def _follow(self):
        headers = {"Cookie": f"sessionid={self.cookie}", "Origin": self.origin}
        async with aiohttp.ClientSession() as session:
            while not self.stop.is_set():
                try:
                    async with session.ws_connect(self.url, headers=headers) as ws:
                        async for message in ws:  # until the server closes the socket
                            if message.type == aiohttp.WSMsgType.TEXT:
                                self.messages.append(message.data)
                        self.closes.append(ws.close_code or 1006)
                        if ws.close_code and ws.close_code not in self.RETRY:
                            return
                except aiohttp.ClientError:
                    self.closes.append(1006)
                await asyncio.sleep(0.5)

    def shows(self, status: str) -> bool:
        return bool(self.messages) and f'data-status="{status}"' in self.messages[-1]


def test_a_redis_restart_mid_run_leaves_the_worker_alive_the_run_ready_and_the_live_views_complete(tenant, api_for, tmp_path):
    log = tmp_path / "processes.log"
    key = api_for(tenant.org).secret
    cookie = login_client(tenant.user("owner")).cookies["sessionid"].value
    with private_redis(tmp_path) as (redis, started):
        started.append(worker := start_worker(redis, log, beat=True, pool="prefork", OFFLINE_LLM_LATENCY_S=PACE_S))
        server, url = start_server(redis, log, OFFLINE_LLM_LATENCY_S=PACE_S)
        started.append(server)

        body = requests.post(f"{url}/v1/personas", json={"brief": BRIEF}, headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        run = PipelineRun.objects.get(public_id=body["run_id"])
        sse = SseClient(f"{url}/v1/runs/{run.public_id}/events", key)
        page = WsPage(f"ws://127.0.0.1:{url.rsplit(':', 1)[1]}/ws/o/acme/runs/{run.public_id}/?after=0", cookie, url)
        sse.start()
        page.start()
        wait_for(lambda: any(kind == "step.started" and seq > 3 for seq, kind, _ in sse.events), 60, "the run to be two steps in", log)

        redis.stop()
        time.sleep(REDIS_DOWN_S)
        redis.start()
        back = time.monotonic()
        seen_before = len(sse.events)

        wait_for(sse.done.is_set, 90, "the SSE client to receive the run's end", log)
        run.refresh_from_db()
        first_after = next((when for _, _, when in sse.events[seen_before:] if when >= back), None)
        wait_for(lambda: page.shows(run.status), 30,
                 f"the WebSocket page to show {run.status} (it has {len(page.messages)} messages, closes {page.closes})", log)
        page.stop.set()
        assert worker.poll() is None, f"the worker died:\n{log.read_text()[-3000:]}"

        # Work queued after the broker's return runs within 30 s.
        queued_at = time.monotonic()
        second = requests.post(f"{url}/v1/personas", json={"brief": BRIEF}, headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        wait_for(lambda: PipelineRun.objects.filter(public_id=second["run_id"]).exclude(status="queued").exists(), 30,
                 "the worker to start work queued after the restart", log)
        picked_up = time.monotonic() - queued_at

    seqs = [seq for seq, _, _ in sse.events]
    delivered = f"{first_after - back:.2f} s" if first_after else "n/a (the run ended before Redis came back)"
    print(f"\nRedis back → first SSE event: {delivered}; queued after the restart → started in {picked_up:.2f} s; "
          f"SSE connections {sse.connections}, WebSocket closes {page.closes}")
    assert run.status in ("ready", "flagged") and not run.steps.filter(status="running").exists()
    assert seqs == list(range(1, run.events.count() + 1))  # every event exactly once, in order
    assert "Unrecoverable error" not in log.read_text()


def test_a_worker_killed_mid_run_is_resumed_by_another_from_its_completed_steps(tenant, tmp_path):
    log = tmp_path / "workers.log"
    owner = Principal.from_membership(tenant.membership("owner"))
    with private_redis(tmp_path) as (redis, started):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pipeline_tasks.execute_run, "delay", lambda run_id: publish(pipeline_tasks.execute_run, run_id, redis=redis))
            persona, run = persona_generate(principal=owner, brief=BRIEF)
        started.append(first := start_worker(redis, log, OFFLINE_LLM_LATENCY_S=PACE_S))
        wait_for(lambda: run.steps.filter(step="self_enrich").exists(), 60, "the worker to reach self_enrich", log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed = time.monotonic()
        assert PipelineRun.objects.get(pk=run.pk).status == "running"  # as the dead worker left it
        started.append(start_worker(redis, log, beat=True, OFFLINE_LLM_LATENCY_S=PACE_S))
        wait_for(lambda: PipelineRun.objects.filter(pk=run.pk, attempt=2, status="running").exists()
                 or PipelineRun.objects.get(pk=run.pk).is_finished, 60, "another worker to resume the run", log)
        resumed = time.monotonic() - killed
        wait_for(lambda: PipelineRun.objects.get(pk=run.pk).is_finished, 60, "the resumed run to end", log)
        ended = time.monotonic() - killed

    run.refresh_from_db()
    print(f"\npersona run: kill -9 → resumed in {resumed:.1f} s, → {run.status} in {ended:.1f} s")
    assert run.status in ("ready", "flagged") and run.attempt == 2
    assert run.steps.filter(step="soul_draft").count() == 1  # completed before the kill: not redone
    assert run.steps.get(step="self_enrich", status="failed").error == "the worker stopped during this step"
    assert not run.steps.filter(status="running").exists()
    types = list(run.events.values_list("type", flat=True))
    assert "pipeline.requeued" in types and types[-1] == "pipeline.completed"
    persona.refresh_from_db()
    assert persona.status == run.status
    assert json.dumps(run.events.get(type="pipeline.requeued").data)  # a plain event any client can read
