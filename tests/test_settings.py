"""Settings come from the environment; the two modes pick their channel layer and broker."""

import json
import subprocess
import sys
from pathlib import Path

from studio.config import model_names

ROOT = Path(__file__).resolve().parents[1]

# Reading the settings needs no app loaded (no django.setup(): a second or more per probe on 2 cores).
PROBE = """
import json, os
from django.conf import settings
print(json.dumps({
  "db": settings.DATABASES["default"]["ENGINE"], "db_name": str(settings.DATABASES["default"]["NAME"]),
  "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"], "broker": settings.CELERY_BROKER_URL,
  "embedded": settings.EMBEDDED_MODE, "secret": settings.SECRET_KEY, "debug": settings.DEBUG,
  "hosts": settings.ALLOWED_HOSTS, "litellm_cost_map": os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"),
}))
"""


def probe(tmp_path, **env) -> dict:
    clean = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_VAR_DIR": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_with_no_environment_it_runs_embedded_on_sqlite_under_var(tmp_path):
    settings = probe(tmp_path)
    assert settings["db"] == "django.db.backends.sqlite3"
    assert settings["db_name"] == str(tmp_path / "studio.sqlite3")
    assert settings["layer"] == "studio.realtime.ThreadSafeInMemoryChannelLayer"
    assert settings["broker"].startswith("memory://")
    assert settings["embedded"] is True and settings["debug"] is False
    assert settings["litellm_cost_map"] == "True"


def test_the_generated_secret_key_is_kept_between_starts(tmp_path):
    first, second = probe(tmp_path), probe(tmp_path)
    assert first["secret"] == second["secret"] and len(first["secret"]) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_services_mode_uses_redis_and_the_database_url(tmp_path):
    settings = probe(
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/5",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/studio",
        SECRET_KEY="from-the-environment",
        DEBUG="true",
        ALLOWED_HOSTS="studio.example.com",
    )
    assert settings["db"] == "django.db.backends.postgresql"
    assert settings["layer"] == "channels_redis.core.RedisChannelLayer"
    assert settings["broker"] == "redis://127.0.0.1:6379/5" and settings["embedded"] is False
    assert settings["secret"] == "from-the-environment" and settings["debug"] is True
    assert settings["hosts"] == ["studio.example.com"]


def test_importing_the_project_does_not_import_litellm(tmp_path, settings):
    """Neither the project (its URLs, its ASGI app) nor the LLM gateway it calls imports litellm (5 s of CPU) until a
    call is made, calls to the offline engine never do (the gateway calls it directly), and neither does a model
    name's check once a process has kept litellm's catalogue: one process checks it all, as each check would cost a
    Python start with Django loaded."""
    settings.CACHE_DIR = tmp_path / "cache"
    model_names._catalogue.cache_clear()
    try:
        model_names._catalogue()  # kept under tmp_path/cache by this process
    finally:
        model_names._catalogue.cache_clear()
    code = ("import django; django.setup(); import studio.urls, studio.asgi, studio.llm.gateway as g, sys; "
            "print('litellm' in sys.modules); "
            "c = g.complete([{'role': 'user', 'content': 'Hello'}], g.StepConfig('offline/studio')); "
            "v, _ = g.embed(['Hello'], 'offline/embed'); "
            "print(bool(c.text and v[0]), 'litellm' in sys.modules); "
            "from studio.config.model_names import check_model; "
            "print(check_model('openai/gpt-5', 'chat') is None, check_model('openai/no-such-model', 'chat') is not None, "
            "'litellm' in sys.modules)")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_VAR_DIR": str(tmp_path),
             "STUDIO_CACHE_DIR": str(tmp_path / "cache"), "OFFLINE_LLM_LATENCY_S": "0"},
    )
    assert out.stdout.split() == ["False", "True", "False", "True", "True", "False"]


def test_a_worker_warms_litellm_up_only_where_a_call_could_need_it(tenant, settings, monkeypatch, llm_server):
    """The offline engine is called without litellm: with no provider key anywhere and the local models off, a
    starting worker does not import it (5 s of CPU); the local models, a key in the environment or on an org do."""
    from studio import services
    from studio.celery import litellm_may_be_needed

    for key_var, _ in services.ENV_FALLBACK.values():
        monkeypatch.delenv(key_var, raising=False)
    settings.LOCAL_MODELS_DEFAULT = False
    assert litellm_may_be_needed() is False

    settings.LOCAL_MODELS_DEFAULT = True
    assert litellm_may_be_needed() is True
    settings.LOCAL_MODELS_DEFAULT = False

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert litellm_may_be_needed() is True
    monkeypatch.delenv("ANTHROPIC_API_KEY")

    services.credential_set(organization=tenant.org, provider="openai_compatible", api_key="sk-test-12345678",
                            api_base=llm_server.url)
    assert litellm_may_be_needed() is True
