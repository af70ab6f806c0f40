"""Browser tests: Playwright driving Debian's Chromium against a live daphne server.

The server is a real `manage.py runstudio` process with a database of its own:
embedded mode (SQLite file, in-process worker) unless REDIS_URL is set, in
which case it uses PostgreSQL (DATABASE_URL's server), Redis, and a separate
Celery worker process — the services stack.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests import db_template

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
# How long a test waits for background work (a generation, an audit job, a model's reply). In CI's services pass four
# pytest processes, a Celery worker and a training job share 2 cores, and a 5-second job took over 60 s there.
BACKGROUND_WAIT_MS = 180_000
# How long any one page action or assertion may take. These tests check what a page does, not how fast (that is
# `make bench`'s): under the same load a heavy page once took over 15 s to build, so a step waits up to 45 s.
PAGE_WAIT_MS = 45_000
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
# The flows' full-page screenshots, for people to look at the pages (`make screenshots`): taken when STUDIO_SCREENSHOTS
# names a folder. Not by default: the captures, at two widths, were a fifth of these tests' CPU (210 → 171 busy CPU-s
# alone) and `make test` and CI looked at none of them. A failing test's last page is saved either way, under
# var/screenshots unless the variable names another folder ("none", as before, takes none).
_SCREENSHOTS_SETTING = os.environ.get("STUDIO_SCREENSHOTS", "none").strip() or "none"
TAKE_SCREENSHOTS = _SCREENSHOTS_SETTING != "none"
SCREENSHOTS = Path(_SCREENSHOTS_SETTING) if TAKE_SCREENSHOTS else ROOT / "var" / "screenshots"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """The test's own outcome on the item (`call_report`), for the page fixture's teardown to see."""
    report = yield
    if report.when == "call":
        item.call_report = report
    return report


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("STUDIO_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"browser tests are required but {CHROMIUM} is missing (apt-get install -y chromium)")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install -y chromium); CI requires it")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_database(url: str, name: str) -> str:
    """Database `name` on the server of `url`, made afresh as a copy of the migrated template; its URL."""
    parts = urlsplit(url)
    db_template.clone("default", name)
    return urlunsplit(parts._replace(path=f"/{name}"))


# The command process: one request per line ({"args": [...], "settings": {...}}), one JSON reply per line. Its
# stdout is the reply channel: what commands print is captured for the reply.
COMMAND_LOOP = r"""
import contextlib, io, json, os, sys, traceback
replies = os.fdopen(os.dup(1), "w")  # the reply channel; anything else written to fd 1 goes to stderr
os.dup2(2, 1)
import django
django.setup()
from django.core.management import call_command
from django.db import close_old_connections
from django.test.utils import override_settings
for line in sys.stdin:
    request, out = json.loads(line), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), override_settings(**request["settings"]):
            args = request["args"]
            if args[:2] == ["shell", "-c"]:
                exec(compile(args[2], "<manage.py shell -c>", "exec"), {"__name__": "__main__"})
            else:
                call_command(*args, stdout=out)
        reply = {"ok": True, "out": out.getvalue()}
    except BaseException:
        reply = {"ok": False, "out": out.getvalue(), "error": traceback.format_exc()}
    finally:
        close_old_connections()
    replies.write(json.dumps(reply) + "\n")
    replies.flush()
"""


@dataclass
class StudioServer:
    url: str
    env: dict
    processes: list = field(default_factory=list)

    commands: subprocess.Popen | None = None

    def manage(self, *args: str, **settings) -> str:
        """`manage.py <args>` against the server's database (`shell -c CODE` included), with `settings` overridden;
        its output. Run by one process with Django loaded, kept for the session: a Python start with the project
        imported costs seconds on 2 cores, and the tests seed through dozens of commands."""
        if self.commands is None or self.commands.poll() is not None:
            self.commands = subprocess.Popen([sys.executable, "-c", COMMAND_LOOP], cwd=ROOT, env=self.env, text=True,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.commands.stdin.write(json.dumps({"args": args, "settings": settings}) + "\n")
        self.commands.stdin.flush()
        line = self.commands.stdout.readline()
        if not line:
            raise AssertionError(f"manage.py {' '.join(args)}: the command process exited (exit {self.commands.wait()})")
        reply = json.loads(line)
        if not reply["ok"]:
            raise AssertionError(f"manage.py {' '.join(args)[:200]} failed:\n{reply['out']}\n{reply['error']}")
        return reply["out"]

    def start(self, *args: str, log: Path) -> None:
        handle = open(log, "w")
        self.processes.append(
            subprocess.Popen([sys.executable, *args], cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        )

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise AssertionError("the studio server exited during start-up; see its log under var/")
            try:
                urllib.request.urlopen(self.url + "/accounts/login/", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the studio server did not answer at {self.url} within {timeout}s")

    def stop(self) -> None:
        if self.commands is not None:
            self.commands.stdin.close()
            self.commands.wait(timeout=30)
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def studio_server(django_db_blocker):
    workdir = Path(tempfile.mkdtemp(prefix="studio-browser-"))
    port = _free_port()
    # The offline engine at a fifth of its demo pace (0.25 s a call, for people watching): still slow enough for each
    # flow to see the steps go by live, but a 90-turn long conversation no longer spends 45 s waiting.
    env = {"STUDIO_LOCAL_MODELS": "0", "OFFLINE_LLM_LATENCY_S": "0.05", **os.environ, "PORT": str(port),
           "STUDIO_VAR_DIR": str(workdir), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SETTINGS_MODULE"] = "tests.browser.server_settings"  # studio.settings with a fast password hasher
    # The database starts as a copy of the suite's migrated template (tests/db_template.py); `migrate` then finds
    # nothing to do, and would apply a migration the template lacked.
    with django_db_blocker.unblock():
        if os.environ.get("REDIS_URL"):
            # Services stack with its own database and Redis db, apart from the main suite's worker.
            env["DATABASE_URL"] = _postgres_database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"), "studio_browser")
            env["REDIS_URL"] = os.environ.get("STUDIO_BROWSER_REDIS_URL", "redis://127.0.0.1:6379/2")
        else:
            db_template.clone("default", str(workdir / "studio.sqlite3"))
            env["DATABASE_URL"] = f"sqlite:///{workdir / 'studio.sqlite3'}"
    server = StudioServer(url=f"http://127.0.0.1:{port}", env=env)
    server.manage("migrate", "--noinput", "-v0")
    if env.get("REDIS_URL"):
        server.start("-m", "celery", "-A", "studio", "worker", "-Q", "celery,gpu", "--concurrency=2", "--loglevel=WARNING", log=workdir / "worker.log")
    server.start("manage.py", "runstudio", "--port", str(port), log=workdir / "server.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()
        logs = ROOT / "var" / "browser-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for log in workdir.glob("*.log"):
            shutil.copy(log, logs / log.name)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PAGE_WAIT_MS)  # expect()'s own default is 5 s

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(PAGE_WAIT_MS)
    # The pages must pass their Content-Security-Policy: a refused script, style or connection fails the test.
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    report = getattr(request.node, "call_report", None)
    if TAKE_SCREENSHOTS or (report is not None and report.failed):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-final.png"), full_page=True)
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def screenshot(page, name: str) -> Path | None:
    """The page's full length saved as `name`.png (its path), unless screenshots are off (None)."""
    if not TAKE_SCREENSHOTS:
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


NARROW = {"width": 390, "height": 844}  # a phone
WIDE = {"width": 1280, "height": 860}


def shots(page, name: str) -> None:
    """The page at 1280 px and at 390 px wide (a phone), full length; the page is left at 1280 px."""
    if not TAKE_SCREENSHOTS:
        return
    screenshot(page, f"{name}-1280")
    page.set_viewport_size(NARROW)
    screenshot(page, f"{name}-390")
    page.set_viewport_size(WIDE)


def log_in(page, server: StudioServer, username: str, password: str) -> None:
    page.goto(server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
