"""Processes for the fault tests (services mode): a Redis of their own, Celery workers and a daphne server on it.

Each test gets a private redis-server on a free port, so its workers read default queues without meeting CI's
own worker, everything they publish (a requeue, the reaper's beat) stays with them, and the test can stop and
start that Redis at will. Workers and server read this test's PostgreSQL database.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# Fast liveness for tests: a heartbeat every second, 3 s of silence is a dead worker, the reaper every second
# (the defaults are 5 s, 30 s and 10 s).
# STUDIO_FAULT_LIVENESS=default keeps the defaults, to measure what a deployment sees.
FAST_LIVENESS = {} if os.environ.get("STUDIO_FAULT_LIVENESS") == "default" else {
    "WORK_HEARTBEAT_S": "1", "WORK_STALE_AFTER_S": "3", "WORK_REAP_EVERY_S": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class RedisServer:
    """A redis-server of the test's own (nothing saved to disk), which the test can restart."""

    def __init__(self, workdir: Path):
        self.port, self.workdir, self.process = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.answers, 10, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def process_env(redis: RedisServer, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis.url, "PYTHONUNBUFFERED": "1",
           "STUDIO_LOCAL_MODELS": "0", "DJANGO_SETTINGS_MODULE": "studio.settings", **FAST_LIVENESS}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(redis: RedisServer, log: Path, *, beat: bool = False, pool: str = "solo", **env) -> subprocess.Popen:
    """`celery -A studio worker` on the default queues of `redis`; with `beat`, it runs the reaper too (-B)."""
    command = [sys.executable, "-m", "celery", "-A", "studio", "worker", "-Q", "celery,gpu", f"--pool={pool}",
               "--concurrency=2", "--loglevel=INFO", "--without-mingle", "--without-gossip"]
    if beat:
        command += ["-B", "-s", str(log.with_suffix(".beat-schedule"))]
    with open(log, "a") as out:
        return subprocess.Popen(command, cwd=ROOT, env=process_env(redis, **env), stdout=out, stderr=subprocess.STDOUT)


def start_server(redis: RedisServer, log: Path, **env) -> tuple[subprocess.Popen, str]:
    """daphne (manage.py runstudio) on a free port, on `redis` for its channel layer; returns (process, base url)."""
    port = free_port()
    with open(log, "a") as out:
        server = subprocess.Popen([sys.executable, "manage.py", "runstudio", "--port", str(port)], cwd=ROOT,
                                  env=process_env(redis, PORT=port, **env), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url + "/accounts/login/", timeout=2)
            return True
        except OSError:
            return False

    wait_for(up, 60, "the studio server", log)
    return server, url


def publish(task, *args, redis: RedisServer) -> None:
    """Send `task` to the workers on `redis` (this test process's own broker is CI's)."""
    with task.app.connection_for_write(redis.url) as conn:
        task.apply_async(args=args, connection=conn)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def private_redis(workdir: Path):
    """Yields (redis, started): processes appended to `started` are stopped at the end, then the Redis."""
    redis, started = RedisServer(workdir), []
    redis.start()
    try:
        yield redis, started
    finally:
        for process in started:
            stop(process)
        redis.stop()


def wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    tail = f"; log:\n{log.read_text()[-4000:]}" if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")
