"""Shared fixtures: an org with a member of every role, and an outsider in another org."""

import os

# One torch thread per test process (and the servers and workers the tests start, which inherit it): the suite runs a
# process per core beside the browser tests, and the tiny models' many small operations ran slower with each process
# spinning two threads on two cores (a 20-turn conversation with a checkpoint: 22.7 s alone at two threads, 17.4 s
# at one, 521 s in the busy suite). Read by torch when it is first imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import gc
import time
import types
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from studio import services
from studio.celery import app as celery_app
from studio.models import Organization
from studio.roles import SCOPES, Role
from tests.card_helpers import import_card  # noqa: F401  (fixture)
from tests.fingerprint_helpers import fingerprint  # noqa: F401  (fixture)
from tests.generation_helpers import generate, owner_api  # noqa: F401  (fixtures)
from tests.reviews_helpers import owner_principal, persona  # noqa: F401  (fixtures)
from tests.training_helpers import launch  # noqa: F401  (fixtures)
from tests.llm_fixtures import llm_org, llm_server, llm_server_session  # noqa: F401  (fixtures)
from tests import db_template, offline_steering

offline_steering.install()  # briefs with [offline:weak|flawed|invalid] steer the offline drafts
db_template.install()  # each test database a copy of one migrated template, not migrated again

PASSWORD = "correct-horse-battery-staple"
SERVICES_MODE = bool(os.environ.get("REDIS_URL"))


DB_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}
SERVICE_MARKERS = ("django_db", "services", "real_worker", "browser", "slow_model")


def pytest_addoption(parser):
    parser.addoption(
        "--service-tests-only", action="store_true",
        help="deselect the tests that touch no database, channel layer or worker, and those of the local models "
             "(CI's services pass: their result "
             "cannot depend on PostgreSQL, Redis or Celery, and the embedded pass has run them)")


def touches_services(item) -> bool:
    """Whether a test reaches the database (and through it the worker and channel layer) or is marked as needing services.

    The tests of the packaged local models (marked local_models) spend their time in SmolLM2 and MiniLM, whose
    answers cannot depend on the services; they run once, in the embedded pass (the SmolLM2 training job, marked
    slow_model, runs in CI's services pass on its own)."""
    if item.get_closest_marker("local_models") and not item.get_closest_marker("slow_model"):
        return False
    if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    return any(item.get_closest_marker(name) for name in SERVICE_MARKERS)


# Tests that load the same expensive thing once per process share an xdist worker (`--dist loadgroup`): the packaged
# local models (torch, transformers, xllamacpp and the weights: about 20 s a process) and the tiny DPO checkpoint the
# tuned-model tests train once per process. Every other test is grouped by its file, as `--dist loadfile` would.
SHARED_LOADS = {"local_models": "local-models", "tiny_checkpoint": "tiny-checkpoint"}


def pytest_collection_finish(session):
    """What collection imported (Django, the apps, the test modules) lives as long as the process: out of the garbage
    collector's sight, so that its automatic full collections walk only what the tests make."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Under `--dist loadgroup` every test id a worker collected must carry its group (`…@group`), the only thing the
    scheduler reads: where xdist could not mark the ids (pytest 9.2 ignores the attribute pytest-xdist 3.8 rewrites),
    the groups were split silently and every worker paid every shared load."""
    if node.config.getoption("dist") != "loadgroup":
        return
    ungrouped = [nodeid for nodeid in ids if "@" not in nodeid]
    if ungrouped:
        pytest.exit(f"--dist loadgroup: {len(ungrouped)} of {len(ids)} tests lost their xdist group (first: {ungrouped[0]}): "
                    "this pytest and pytest-xdist do not work together (see the pytest pin in pyproject.toml)",
                    returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread for the session."""
    if config.getoption("service_tests_only"):
        service_free = [item for item in items if not touches_services(item)]
        if service_free:
            config.hook.pytest_deselected(items=service_free)
            items[:] = [item for item in items if touches_services(item)]
    items.sort(key=lambda item: "tests/browser/" in str(item.fspath))
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))


def xdist_group_of(item) -> str:
    if item.get_closest_marker("local_models") and not item.get_closest_marker("slow_model"):
        return SHARED_LOADS["local_models"]
    if "tiny_checkpoint" in getattr(item, "fixturenames", ()):
        return SHARED_LOADS["tiny_checkpoint"]
    return item.nodeid.split("::", 1)[0]


def pytest_configure(config):
    config.addinivalue_line("markers", "real_worker: runs tasks on a real Celery worker instead of eagerly")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Real hashing costs ~0.3 s per user; fixtures create several users per test."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def eager_tasks(request):
    """Tasks run inline unless a test asks for the real worker (embedded thread or separate process)."""
    if request.node.get_closest_marker("real_worker"):
        yield
        return
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _test_settings(request, settings, monkeypatch):
    # The offline engine and the tiny checkpoint are the no-credentials defaults in tests, for speed; tests of
    # the real local models (SmolLM2, MiniLM) are marked `local_models`.
    settings.LOCAL_MODELS_DEFAULT = bool(request.node.get_closest_marker("local_models"))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OFFLINE_LLM_LATENCY_S = 0  # the offline engine's demo pace is for people, not tests
    settings.POST_GENERATION_JOBS = False  # tests of the audit jobs turn them on
    # Rate limits count across tests in a process: only the tests of the limits (marked rate_limits) have them,
    # each on counters of its own (a fresh key prefix: clearing the cache would flush the Redis db the services
    # pass's broker and channel layer share).
    settings.RATELIMIT_ENABLE = bool(request.node.get_closest_marker("rate_limits"))
    if settings.RATELIMIT_ENABLE:
        import uuid

        default = settings.CACHES["default"]
        settings.CACHES = {**settings.CACHES, "default": {**default, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
        # The limiter counts in fixed windows on the wall clock: a test that crossed a window's end would see
        # its count start again. Its clock stands still in tests (the windows' own arithmetic is the library's).
        import django_ratelimit.core as ratelimit_core

        frozen = float(int(time.time()))
        monkeypatch.setattr(ratelimit_core, "time", types.SimpleNamespace(time=lambda: frozen))
    settings.WEBHOOK_BACKOFF_S = 0.01
    # One sequence in the local SmolLM2 (the default, twice the cores, is 4 here): the tests' fingerprints answer short
    # questions under one long persona prompt, which every sequence reads on its own (5 s for 800 tokens on the one
    # thread a test process gives llama.cpp), and a second sequence decodes no faster on that thread. The local-model
    # tests took 58 s with four sequences and 44 s with one; the test of the fingerprint's concurrent answers asks for two.
    settings.LOCAL_LLM_PARALLEL = 1
    # WhiteNoise indexes every static file when its middleware is made, and each test client makes it again: 18 s of
    # the suite's CPU. Autorefresh finds a file when it is asked for instead (tests ask for few).
    settings.WHITENOISE_AUTOREFRESH = True


def make_user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)


@dataclass
class Tenant:
    org: Organization
    users: dict  # role value -> user

    def user(self, role: str):
        return self.users[Role(role)]

    @property
    def owner(self):
        return self.users[Role.OWNER]

    def membership(self, role: str):
        return self.org.memberships.get(user=self.user(role))


@pytest.fixture
def tenant(db) -> Tenant:
    """Org 'acme' with one member per role."""
    owner = make_user("owner@acme.test")
    org = services.org_create(name="Acme", slug="acme", owner=owner)
    users = {Role.OWNER: owner}
    for role in [Role.ADMIN, Role.EDITOR, Role.REVIEWER, Role.VIEWER]:
        users[role] = make_user(f"{role.value}@acme.test")
        services.member_add(organization=org, user=users[role], role=role)
    return Tenant(org=org, users=users)


@pytest.fixture
def outsider_tenant(db) -> Tenant:
    """Org 'globex' whose owner is the outsider: a real user of the studio with no access to acme."""
    outsider = make_user("outsider@globex.test")
    org = services.org_create(name="Globex", slug="globex", owner=outsider)
    return Tenant(org=org, users={Role.OWNER: outsider})


@pytest.fixture
def outsider(outsider_tenant):
    return outsider_tenant.owner


def login_client(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def client_for():
    return login_client


class ApiClient:
    """A test client that sends an API key on every request, JSON in and out."""

    def __init__(self, secret: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.secret = secret

    def _send(self, method, path, json=None, **extra):
        import json as _json

        kwargs = {"content_type": "application/json"}
        if json is not None:
            kwargs["data"] = _json.dumps(json)
        return getattr(self.client, method)(path, **kwargs, **extra)

    def get(self, path, **extra):
        return self.client.get(path, **extra)

    def post(self, path, json=None, **extra):
        return self._send("post", path, json, **extra)

    def put(self, path, json=None, **extra):
        return self._send("put", path, json, **extra)

    def patch(self, path, json=None, **extra):
        return self._send("patch", path, json, **extra)

    def delete(self, path, **extra):
        return self.client.delete(path, **extra)


@pytest.fixture
def api_for():
    """api_for(org, scopes=[...]) → an ApiClient holding a fresh key of that org."""

    def make(org: Organization, scopes=None) -> ApiClient:
        issued = services.api_key_create(
            organization=org, name="test key", scopes=list(scopes or SCOPES), granted_by=frozenset(SCOPES)
        )
        return ApiClient(issued.secret)

    return make


class SessionApi(ApiClient):
    """The JSON helpers, authenticated by a browser session (the org picked by header) instead of a key."""

    def __init__(self, user, org_slug="acme"):
        self.client = login_client(user)
        self.client.defaults["HTTP_X_STUDIO_ORG"] = org_slug
