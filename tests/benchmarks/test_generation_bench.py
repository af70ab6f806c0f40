"""Generation figures (issue 4, "Measure"): (a) orchestration overhead, (b) worker concurrency,
(c) persona list, (d) event latency. Each is printed as a ratio to a baseline measured in this run
(medians of a few rounds where the time allows); only sanity is asserted, never timing.

(a) persona_generate() + run_execute() inline (real commits: transactional_db, so events are broadcast)
    against the test server at 50 ms in its own process (as a provider is), answering with the offline
    engine's text; a brief whose draft passes the audit at once makes six LLM calls (intent, four
    layers, audit — the issue says seven; there is no seventh call in a run that passes first time).
    Baseline: the very same calls (the gateway's litellm arguments, recorded) made back to back with
    bare litellm.completion in this process.
(c) GET /v1/personas?limit=50: query count at 10 and 1,000 personas (bulk-created with versions), and
    req/s vs GET /v1/org through the Django test client in this process; the live half
    (test_c_persona_list_live) measures the same pair over HTTP on daphne + PostgreSQL.
(b), (d) and the live (c) need the services mode: Redis and PostgreSQL from REDIS_URL / a postgres
    DATABASE_URL when set, else on 127.0.0.1 (defaults). They create their own database `studio_bench`,
    use Redis databases 3 (worker broker) and 4 (daphne's channel layer), start a separate
    `celery -A studio worker` (prefork), `manage.py runstudio` (daphne) and the test server as
    processes (tests/benchmarks/generation_services.py), and remove all of it afterwards. When Redis or
    PostgreSQL cannot be reached they print why and skip.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_generation_bench.py -s
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipeline.runner import run_execute
from pipeline.services import persona_generate
from studio.principal import Principal
from tests.benchmarks.generation_services import bulk_personas, offline_documents
from tests.benchmarks.conftest import provider_process
from tests.generation_helpers import BRIEF, use_test_server

# --- (a) orchestration overhead ------------------------------------------------------------------

LATENCY_A = 0.05
ROUNDS_A = 7
MODEL = "openai/gpt-test"
# Briefs tried in order: the first whose offline draft passes the audit at once is benchmarked.
BRIEFS_A = [
    BRIEF,
    "A night-shift nurse in Osaka who bakes bread before dawn and keeps a notebook of patients' jokes.",
    "A Lisbon tram driver who restores old radios and argues with football commentators.",
    "A beekeeper in rural Oregon who writes letters to her future self and distrusts smartphones.",
]


@pytest.fixture
def offline_server():
    with provider_process(LATENCY_A) as server:
        yield server


class CallRecorder:
    """Records the litellm calls the gateway makes (keyword arguments), so the baseline can replay them."""

    def __init__(self, monkeypatch):
        from studio.llm import attempts

        self.calls: list[dict] = []
        build = attempts.call_kwargs

        def recording(*args, **kwargs):
            call = build(*args, **kwargs)
            self.calls.append(call)
            return call

        monkeypatch.setattr(attempts, "call_kwargs", recording)


def _persona_run(principal, brief, recorder):
    """One persona run: generate (validate, config, rows) + run_execute inline. → (total s, execute s, calls, run)."""
    from pipeline.models import PipelineRun

    recorder.calls.clear()
    started = time.perf_counter()
    _, run = persona_generate(principal=principal, brief=brief)
    executing = time.perf_counter()
    run_execute(run.pk)
    finished = time.perf_counter()
    return finished - started, finished - executing, list(recorder.calls), PipelineRun.objects.get(pk=run.pk)


def _bare_calls(litellm, calls) -> float:
    """The same calls (identical arguments), back to back, bare litellm.completion."""
    started = time.perf_counter()
    for call in calls:
        response = litellm.completion(**call)
        assert response.choices[0].message.content
    return time.perf_counter() - started


def test_a_orchestration_overhead(transactional_db, tenant, offline_server, monkeypatch):
    from pipeline import tasks
    from studio.llm import runtime

    monkeypatch.setattr(tasks.execute_run, "delay", lambda *args, **kwargs: None)  # run_execute is called inline here
    use_test_server(tenant, offline_server, model=MODEL)
    principal = Principal.from_membership(tenant.membership("owner"))
    litellm = runtime.litellm()
    recorder = CallRecorder(monkeypatch)

    # Warm-up (imports, connections, caches) and the choice of a brief that passes the audit first time.
    brief = None
    for candidate in BRIEFS_A:
        _, _, calls, run = _persona_run(principal, candidate, recorder)
        if run.status == "ready" and run.audit_rounds == 1:
            brief = candidate
            break
    assert brief is not None, "no candidate brief passed the offline audit at the first round"
    _bare_calls(litellm, calls)

    totals, executes, bares, counts = [], [], [], set()
    for _ in range(ROUNDS_A):
        total, execute, calls, run = _persona_run(principal, brief, recorder)
        assert run.status == "ready" and run.audit_rounds == 1, (run.status, run.error)
        bare = _bare_calls(litellm, calls)
        counts.add(len(calls))
        totals.append(total)
        executes.append(execute)
        bares.append(bare)
    assert len(counts) == 1
    calls = counts.pop()

    total, execute, bare = (statistics.median(x) for x in (totals, executes, bares))
    print(
        f"\nBENCH (a) orchestration overhead: persona run {total * 1000:.0f} ms / bare litellm {bare * 1000:.0f} ms"
        f" = {total / bare:.2f} (target <= 1.10)"
        f"\n    {calls} LLM calls per run (6 steps, audit passed at the first round), provider latency"
        f" {LATENCY_A * 1000:.0f} ms, median of {ROUNDS_A} interleaved rounds; run = persona_generate() +"
        f" run_execute() inline on {connection.vendor}; studio adds {(total - bare) / calls * 1000:.1f} ms per call"
        f"\n    run_execute() alone {execute * 1000:.0f} ms / bare = {execute / bare:.2f};"
        f" rounds (run/bare): {' '.join(f'{t / b:.2f}' for t, b in zip(totals, bares))}"
    )


# --- (c) the persona list --------------------------------------------------------------------------

ROUNDS_C = 5
REQUESTS_C = 60  # per endpoint per round
LIST_URL = "/v1/personas?limit=50"
TRIVIAL_URL = "/v1/org"


def _list_queries(api) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(LIST_URL)
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries), response.json()


def _seconds_per_request(api, url: str) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS_C):
        response = api.get(url)
        assert response.status_code == 200
    return (time.perf_counter() - started) / REQUESTS_C


def test_c_persona_list(db, tenant, api_for):
    api = api_for(tenant.org)
    api.get(TRIVIAL_URL)  # the key's first use records last_used_at (one UPDATE, then at most once a minute)
    documents = offline_documents(BRIEF)  # a real persona's documents, so rows have a realistic size
    bulk_personas(tenant.org, 10, documents)
    queries_10, page = _list_queries(api)
    assert len(page["items"]) == 10 and page["next_cursor"] is None
    bulk_personas(tenant.org, 990, documents, start=10)
    queries_1000, page = _list_queries(api)
    assert len(page["items"]) == 50 and page["next_cursor"]
    with CaptureQueriesContext(connection) as captured:
        second = api.get(f"{LIST_URL}&cursor={page['next_cursor']}").json()
    assert len(second["items"]) == 50 and {i["id"] for i in second["items"]}.isdisjoint(i["id"] for i in page["items"])
    queries_page2 = len(captured.captured_queries)

    for url in (LIST_URL, TRIVIAL_URL):  # warm
        _seconds_per_request(api, url)
    lists, trivials = [], []
    for _ in range(ROUNDS_C):
        lists.append(_seconds_per_request(api, LIST_URL))
        trivials.append(_seconds_per_request(api, TRIVIAL_URL))
    per_list, per_trivial = statistics.median(lists), statistics.median(trivials)
    print(
        f"\nBENCH (c) persona list: queries for GET {LIST_URL} — 10 personas: {queries_10}, 1,000 personas: {queries_1000}"
        f" (page 2 by cursor: {queries_page2})"
        f"\nBENCH (c) persona list: GET {LIST_URL} {1 / per_list:.0f} req/s / GET {TRIVIAL_URL} {1 / per_trivial:.0f} req/s"
        f" = {per_trivial / per_list:.2f} (target >= 0.5)"
        f"\n    1,000 personas, 50 per page; Django test client in this process (full middleware + API-key auth,"
        f" no HTTP server or socket), {connection.vendor}; median of {ROUNDS_C} rounds x {REQUESTS_C} requests each;"
        f" rounds: {' '.join(f'{t / l:.2f}' for l, t in zip(lists, trivials))}"
    )
    assert queries_10 == queries_1000


# --- services mode: PostgreSQL, Redis, a separate worker, daphne ------------------------------------
# (b), (d) and the live half of (c). The database, Redis databases 3 (worker broker) and 4 (daphne's
# channel layer), and every process are the benchmark's own and are removed afterwards.

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "studio_bench"
REDIS_DB_WORKER, REDIS_DB_EVENTS = 3, 4
LATENCY_B = 0.1
BRIEFS_B = 50
WORKER_CONCURRENCY = 8
SUBSCRIBERS_D = 100
EVENTS_D = 20
WARM_EVENTS_D = 2
ROUNDS_C_LIVE, REQUESTS_C_LIVE = 5, 30


def _server_urls() -> tuple[str, str]:
    """(Redis server URL without a database, PostgreSQL server URL without a database): from REDIS_URL and a
    PostgreSQL DATABASE_URL when set, else the local defaults."""
    redis = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    database = os.environ.get("DATABASE_URL", "")
    postgres = urlsplit(database if database.startswith(("postgres://", "postgresql://")) else "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(redis._replace(path="")), urlunsplit(postgres._replace(path=""))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Services:
    """The benchmark's own database and processes; `close()` removes them all."""

    def __init__(self):
        self.redis_url, self.postgres_url = _server_urls()
        self.database_url = f"{self.postgres_url}/{BENCH_DB}"
        self.tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
        self.processes: list[subprocess.Popen] = []
        self.created_db = False
        self.llm_url = ""
        self.seed: dict = {}

    def check(self) -> None:
        """Raises with a readable reason when PostgreSQL or Redis cannot be used."""
        import psycopg
        import redis

        for db in (REDIS_DB_WORKER, REDIS_DB_EVENTS):
            redis.Redis.from_url(f"{self.redis_url}/{db}", socket_timeout=3).ping()
        psycopg.connect(f"{self.postgres_url}/postgres", connect_timeout=3, autocommit=True).close()

    def env(self, redis_db: int) -> dict:
        return {
            **os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": f"{self.redis_url}/{redis_db}",
            "SECRET_KEY": "studio-benchmark-secret-key-not-for-production-000000",
            "STUDIO_VAR_DIR": str(self.tmp), "DJANGO_SETTINGS_MODULE": "studio.settings", "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # (b) measures generation: the post-generation audit jobs (fingerprint, provocations: ~130 calls
            # a persona) would share the worker and the provider with it
            "POST_GENERATION_JOBS": "0",
        }

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.postgres_url}/postgres", connect_timeout=5, autocommit=True) as conn:
            conn.execute(statement)

    def _flush_redis(self) -> None:
        import redis

        for db in (REDIS_DB_WORKER, REDIS_DB_EVENTS):
            redis.Redis.from_url(f"{self.redis_url}/{db}", socket_timeout=5).flushdb()

    def run(self, *args, redis_db: int = REDIS_DB_WORKER, timeout: float = 300) -> str:
        done = subprocess.run(args, cwd=ROOT, env=self.env(redis_db), capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{' '.join(map(str, args[:4]))} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

    def helper(self, *args, redis_db: int = REDIS_DB_WORKER, timeout: float = 300) -> dict:
        out = self.run(sys.executable, "-m", "tests.benchmarks.generation_services", *args, redis_db=redis_db, timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])

    def start(self, name: str, *args, redis_db: int, **popen) -> subprocess.Popen:
        """A process in its own session (so stopping it stops its children), output to <tmp>/<name>.log."""
        popen.setdefault("stdout", open(self.tmp / f"{name}.log", "w"))
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env(redis_db), stderr=open(self.tmp / f"{name}.err", "w"),
            start_new_session=True, **popen,
        )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return "".join((self.tmp / f"{name}{ext}").read_text()[-2000:] for ext in (".log", ".err") if (self.tmp / f"{name}{ext}").exists())

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        with contextlib.suppress(ProcessLookupError):  # children left behind by a process that exited
            os.killpg(process.pid, signal.SIGKILL)
        if process in self.processes:
            self.processes.remove(process)

    def open(self) -> None:
        self.check()
        self._sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        self._sql(f"CREATE DATABASE {BENCH_DB}")
        self.created_db = True
        self._flush_redis()
        self.run(sys.executable, "manage.py", "migrate", "--noinput", "-v0")
        # The worker's processes each import litellm when they start (seconds of CPU each): start it now,
        # so that happens while the rest is set up, then let every process run once (warm_worker).
        self.worker = self.start(
            "worker", sys.executable, "-m", "celery", "-A", "studio", "worker",
            f"--concurrency={WORKER_CONCURRENCY}", "-Q", "celery,gpu", "--loglevel=WARNING", "-n", "bench@%h",
            "--without-gossip", "--without-mingle", redis_db=REDIS_DB_WORKER,
        )
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.daphne = self.start("daphne", sys.executable, "manage.py", "runstudio", "--host", "127.0.0.1",
                                 "--port", str(self.port), redis_db=REDIS_DB_EVENTS)
        server = self.start("llm-server", sys.executable, "-m", "tests.benchmarks.generation_services", "llm-server",
                            "--latency", str(LATENCY_B), redis_db=REDIS_DB_WORKER, stdout=subprocess.PIPE, text=True)
        self.llm_url = server.stdout.readline().strip()
        assert self.llm_url.startswith("http"), self.log("llm-server")
        self.seed = self.helper("seed", "--llm-url", self.llm_url, "--personas", "1000")
        self._wait_for_daphne()

    def _wait_for_daphne(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.daphne.poll() is not None:
                raise RuntimeError(f"runstudio exited ({self.daphne.returncode}): {self.log('daphne')}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.base_url + "/accounts/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            time.sleep(0.2)
        raise RuntimeError(f"runstudio did not answer within {timeout:.0f} s: {self.log('daphne')}")

    def close(self) -> None:
        for process in list(reversed(self.processes)):
            self.stop(process)
        with contextlib.suppress(Exception):
            self._flush_redis()
        if self.created_db:
            self._sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def services():
    bench = Services()
    try:
        try:
            bench.check()
        except Exception as exc:  # noqa: BLE001 - any reason the services cannot be used
            reason = f"services mode unavailable (PostgreSQL at {bench.postgres_url}, Redis at {bench.redis_url}): {exc}"
            print(f"\nBENCH skipped: {reason}")
            pytest.skip(reason)
        bench.open()
        yield bench
    finally:
        bench.close()


def _llm_stats(url: str, reset: bool = False) -> dict:
    """The test server's counters (requests received, peak concurrency); then zeroed when `reset`."""
    with urllib.request.urlopen(url + "/_stats", timeout=10) as response:
        stats = json.load(response)
    if reset:
        urllib.request.urlopen(urllib.request.Request(url + "/_reset", method="POST"), timeout=10).read()
    return stats


# --- (b) 50 briefs through the worker, at once vs one after another ---------------------------------

def test_b_worker_concurrency(services):
    from tests.benchmarks.generation_services import briefs_passing_first_audit

    briefs = briefs_passing_first_audit(WORKER_CONCURRENCY + BRIEFS_B)
    warm, bench = briefs[:WORKER_CONCURRENCY], briefs[WORKER_CONCURRENCY:]
    (services.tmp / "warm.json").write_text(json.dumps(warm))
    (services.tmp / "briefs.json").write_text(json.dumps(bench))
    worker = services.worker
    try:
        # Every worker process imports litellm once; one run each at once makes sure all of them have.
        started = time.perf_counter()
        warmed = services.helper("generate", "--briefs", str(services.tmp / "warm.json"), "--mode", "concurrent", "--timeout", "240")
        warm_s = time.perf_counter() - started
        assert warmed["statuses"] == {"ready": WORKER_CONCURRENCY}, (warmed, services.log("worker"))

        _llm_stats(services.llm_url, reset=True)
        concurrent = services.helper("generate", "--briefs", str(services.tmp / "briefs.json"), "--mode", "concurrent")
        stats = _llm_stats(services.llm_url, reset=True)
        calls_concurrent = stats["received"]
        sequential = services.helper("generate", "--briefs", str(services.tmp / "briefs.json"), "--mode", "sequential")
        calls_sequential = _llm_stats(services.llm_url)["received"]
    finally:
        services.stop(worker)  # its processes would otherwise share the two CPUs with what follows

    ratio = sequential["seconds"] / concurrent["seconds"]
    print(
        f"\nBENCH (b) worker concurrency: {BRIEFS_B} briefs one after another {sequential['seconds']:.1f} s"
        f" / the same {BRIEFS_B} at once {concurrent['seconds']:.1f} s = {ratio:.2f}x"
        f" (celery prefork worker, --concurrency={WORKER_CONCURRENCY}, {os.cpu_count()} CPUs)"
        f"\n    PostgreSQL + Redis broker, separate `celery -A studio worker` process; provider latency"
        f" {LATENCY_B * 1000:.0f} ms; {calls_concurrent} vs {calls_sequential} LLM calls; median run"
        f" {concurrent['median_run_ms']} ms at once ({stats['peak_concurrency']} LLM calls in flight at most) vs {sequential['median_run_ms']} ms alone; statuses"
        f" {concurrent['statuses']} / {sequential['statuses']}; one pass each; worker warm-up {warm_s:.0f} s (not timed)"
    )
    assert concurrent["statuses"] == sequential["statuses"] == {"ready": BRIEFS_B}, (concurrent, sequential)
    assert calls_concurrent == calls_sequential == concurrent["llm_steps"] == sequential["llm_steps"]


# --- (c) over HTTP: the same two endpoints on a live daphne with PostgreSQL ---------------------------

def test_c_persona_list_live(services):
    import requests

    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {services.seed['list_api_key']}"

    def seconds_per_request(url: str) -> float:
        started = time.perf_counter()
        for _ in range(REQUESTS_C_LIVE):
            response = http.get(services.base_url + url, timeout=30)
            assert response.status_code == 200, response.text[:300]
        return (time.perf_counter() - started) / REQUESTS_C_LIVE

    page = http.get(services.base_url + LIST_URL, timeout=30).json()
    assert len(page["items"]) == 50 and page["next_cursor"]
    for url in (LIST_URL, TRIVIAL_URL):
        seconds_per_request(url)
    lists, trivials = [], []
    for _ in range(ROUNDS_C_LIVE):
        lists.append(seconds_per_request(LIST_URL))
        trivials.append(seconds_per_request(TRIVIAL_URL))
    per_list, per_trivial = statistics.median(lists), statistics.median(trivials)
    print(
        f"\nBENCH (c) persona list, live: GET {LIST_URL} {1 / per_list:.0f} req/s / GET {TRIVIAL_URL}"
        f" {1 / per_trivial:.0f} req/s = {per_trivial / per_list:.2f} (target >= 0.5)"
        f"\n    daphne (manage.py runstudio, services mode) + PostgreSQL, 1,000 personas, one keep-alive client"
        f" (requests) on the same 2 CPUs, one request at a time; median of {ROUNDS_C_LIVE} rounds x"
        f" {REQUESTS_C_LIVE}; rounds: {' '.join(f'{t / l:.2f}' for l, t in zip(lists, trivials))}"
    )


# --- (d) event latency: a step finishing → 100 WebSocket clients of the run page --------------------

def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _session_cookie(base_url: str) -> str:
    """Log in through the login page (CSRF token from the form) and return the session id."""
    import re

    import requests

    from tests.benchmarks.generation_services import EMAIL, PASSWORD

    http = requests.Session()
    page = http.get(base_url + "/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = http.post(
        base_url + "/accounts/login/", data={"username": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": base_url + "/accounts/login/"}, timeout=30, allow_redirects=False,
    )
    assert response.status_code == 302 and "sessionid" in http.cookies, (response.status_code, response.text[:300])
    return http.cookies["sessionid"]


class Arrivals:
    """Receive times per subscriber; `wait(n)` until every subscriber has n messages (or the timeout)."""

    def __init__(self, subscribers: int):
        self.times: list[list[float]] = [[] for _ in range(subscribers)]
        self.changed = asyncio.Event()

    def record(self, subscriber: int) -> None:
        self.times[subscriber].append(time.time())
        self.changed.set()

    async def wait(self, count: int, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while any(len(t) < count for t in self.times):
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return True


async def _measure(arrivals: Arrivals, send, events: int, warm: int) -> tuple[list[list[float]], int]:
    """Send `warm` + `events` messages one at a time (each after all subscribers got the previous one).
    → per event, each subscriber's receive time − send time (the last `events` only); how many never came."""
    per_event, missing = [], 0
    for i in range(warm + events):
        sent = await send(i)
        complete = await arrivals.wait(i + 1)
        if not complete:  # keep the counts aligned: a late message would be attributed to the next event
            for times in arrivals.times:
                times.extend([float("nan")] * (i + 1 - len(times)))
        if i >= warm:
            latencies = [times[i] - sent for times in arrivals.times]
            missing += sum(x != x for x in latencies)
            per_event.append([x for x in latencies if x == x])
        await asyncio.sleep(0.05)
    return per_event, missing


async def _websocket_latencies(base_url: str, cookie: str, emitter: subprocess.Popen, run: dict):
    import aiohttp

    loop = asyncio.get_running_loop()
    arrivals = Arrivals(SUBSCRIBERS_D)
    url = base_url.replace("http", "ws", 1) + f"/ws/o/{run['org']}/runs/{run['run_id']}/?after={run['last_seq']}"
    headers = {"Origin": base_url, "Cookie": f"sessionid={cookie}"}

    async def emit(i: int) -> float:
        def roundtrip():
            emitter.stdin.write(f"{i}\n")
            emitter.stdin.flush()
            return json.loads(emitter.stdout.readline())["sent"]

        return await loop.run_in_executor(None, roundtrip)

    async def listen(subscriber: int, ws) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                arrivals.record(subscriber)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = []
        for batch in range(0, SUBSCRIBERS_D, 20):
            sockets += await asyncio.gather(*(http.ws_connect(url, headers=headers, max_msg_size=0) for _ in range(20)))
        listeners = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(0.5)
        assert not any(t for t in arrivals.times), "a subscriber got a message before any event"
        try:
            return await _measure(arrivals, emit, EVENTS_D, WARM_EVENTS_D)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for task in listeners:
                task.cancel()


async def _redis_pubsub_latencies(redis_url: str):
    """The baseline: a PUBLISH to 100 subscribers (one connection each) in this process."""
    import redis.asyncio as aioredis

    arrivals = Arrivals(SUBSCRIBERS_D)
    channel = f"bench-{uuid.uuid4()}"
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(SUBSCRIBERS_D)]
    publisher = aioredis.Redis.from_url(redis_url)
    pubsubs = [client.pubsub() for client in clients]
    for pubsub in pubsubs:
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=1)  # the subscribe confirmation

    async def listen(subscriber: int, pubsub) -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                arrivals.record(subscriber)

    async def publish(i: int) -> float:
        sent = time.time()
        received = await publisher.publish(channel, json.dumps({"type": "step.completed", "seq": i, "sent": sent}))
        assert received == SUBSCRIBERS_D
        return sent

    listeners = [asyncio.create_task(listen(i, p)) for i, p in enumerate(pubsubs)]
    try:
        return await _measure(arrivals, publish, EVENTS_D, WARM_EVENTS_D)
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for pubsub in pubsubs:
            await pubsub.aclose()
        for client in (*clients, publisher):
            await client.aclose()


def test_d_event_latency(services):
    cookie = _session_cookie(services.base_url)
    emitter = services.start("emitter", sys.executable, "-m", "tests.benchmarks.generation_services", "emitter",
                             redis_db=REDIS_DB_EVENTS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        run = json.loads(emitter.stdout.readline() or "null") or pytest.fail(services.log("emitter"))
        ws_events, ws_missing = asyncio.run(_websocket_latencies(services.base_url, cookie, emitter, run))
    finally:
        services.stop(emitter)
    base_events, base_missing = asyncio.run(_redis_pubsub_latencies(f"{services.redis_url}/{REDIS_DB_EVENTS}"))
    ws = [x for event in ws_events for x in event]
    base = [x for event in base_events for x in event]

    ws_p50, ws_p99 = _percentile(ws, 50), _percentile(ws, 99)
    base_p50, base_p99 = _percentile(base, 50), _percentile(base, 99)
    print(
        f"\nBENCH (d) event latency, step finished -> WebSocket client ({SUBSCRIBERS_D} subscribers, Redis channel layer):"
        f" p50 {ws_p50 * 1000:.1f} ms, p99 {ws_p99 * 1000:.1f} ms"
        f"\nBENCH (d) baseline, Redis PUBLISH -> {SUBSCRIBERS_D} SUBSCRIBE connections: p50 {base_p50 * 1000:.2f} ms,"
        f" p99 {base_p99 * 1000:.2f} ms; ratio p50 {ws_p50 / base_p50:.0f}x, p99 {ws_p99 / base_p99:.0f}x"
        f"\n    {EVENTS_D} step.completed events, one at a time, {len(ws)} deliveries ({ws_missing} missing in 20 s) vs"
        f" {len(base)} ({base_missing} missing); clock: time.time() before pipeline.events.emit (a process like the"
        f" worker: StepRun saved, then emit) to the client's receive; daphne (manage.py runstudio) + PostgreSQL;"
        f" clients: aiohttp, one process, logged in by session cookie, on the run page socket"
        f"\n    per event, first / last of the {SUBSCRIBERS_D} WebSocket clients served (median over events):"
        f" {statistics.median(min(e) for e in ws_events) * 1000:.1f} / {statistics.median(max(e) for e in ws_events) * 1000:.1f} ms"
    )
    assert ws_missing == 0 and base_missing == 0
    assert len(ws) == len(base) == SUBSCRIBERS_D * EVENTS_D
