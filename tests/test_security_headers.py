"""Every page carries a Content-Security-Policy it passes (no inline script anywhere), and the other security headers."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def test_pages_carry_the_csp_and_the_other_headers(tenant, client_for):
    response = client_for(tenant.user("owner")).get("/o/acme/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Content-Type-Options"] == "nosniff" and response["Referrer-Policy"] == "same-origin"


def test_the_api_carries_them_too(tenant, api_for):
    response = api_for(tenant.org).get("/v1/personas")
    assert response.status_code == 200 and "default-src 'self'" in response["Content-Security-Policy"]


def test_no_template_has_an_inline_script_or_event_handler():
    """What script-src 'self' would block: <script> without src, on…= attributes, hx-on (eval), javascript: links. A JSON
    data block (<script type="application/json">, as the API docs page carries its settings) is never run, so CSP allows it."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>", r"\son[a-z]+\s*=", r"\bhx-on", r"javascript:"):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert not offenders, offenders


def test_cookies_are_secure_httponly_and_samesite_outside_debug():
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE and settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == settings.CSRF_COOKIE_SAMESITE == "Lax"


def test_htmx_runs_without_eval():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"allowEval":false' in base


def test_the_openapi_document_names_each_schema_once_and_declares_every_operations_errors():
    from collections import defaultdict

    from ninja import Schema

    from studio.api import api

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    modules = defaultdict(set)
    for cls in subclasses(Schema):
        if cls.__module__.split(".")[0] in ("studio", "personas", "pipeline", "audits", "training_jobs"):
            modules[cls.__name__].add(cls.__module__)
    assert {name: mods for name, mods in modules.items() if len(mods) > 1} == {}  # one name, one schema
    schema = api.get_openapi_schema()
    body = schema["paths"]["/v1/personas"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/PersonaGenerateIn") and "brief" in schema["components"]["schemas"]["PersonaGenerateIn"]["properties"]
    config_import = schema["paths"]["/v1/config/import"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert config_import.endswith("/ConfigImportIn")
    missing = [(method, path, status) for path, methods in schema["paths"].items() for method, operation in methods.items()
               for status in ("401", "403", "404", "414", "422", "429") if status not in operation["responses"]]
    assert missing == []
    runs = schema["paths"]["/v1/runs/{run_id}"]["get"]["responses"]
    assert runs["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
