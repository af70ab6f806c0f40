"""The one NinjaAPI, at /v1/. Each app contributes a router; domain errors map to responses here."""

import copy

from django.core.exceptions import RequestDataTooBig
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from studio.api_auth import ApiKeyAuth, OrgSessionAuth
from studio.config.api import router as config_router
from studio.errors import StudioError
from personas.api import router as personas_router
from pipeline.api import router as runs_router
from studio.tenancy_api import router as tenancy_router
from studio.webhooks.api import router as webhooks_router
from audits.api import router as audits_router
from audits.chat.api import router as chat_router
from audits.evals.api import router as evals_router
from audits.reviews.api import router as reviews_router
from audits.traits.api import router as traits_router
from training_jobs.api import router as training_router
from training_jobs.datasets.api import router as datasets_router

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "object", "properties": {"loc": {"type": "array", "items": {}}, "msg": {"type": "string"}}}},
            ],
            "description": "what went wrong, in words; for a field, [{loc: [field], msg}]",
        },
    },
    "required": ["detail"],
}
ERRORS = {  # what any operation may answer besides its success (a 429 adds limit, bucket and retry_after)
    "401": "No or a wrong API key, and no session.", "403": "The key or member lacks the scope or role.",
    "404": "Not found in this organization (another org's object included).",
    "414": "The query string is longer than 8 KB.",
    "422": "Invalid input, naming the field (NUL bytes, lone surrogates and out-of-range integers included).",
    "429": "Past a rate limit; Retry-After says when to try again.",
}
WRITE_ERRORS = {"409": "Conflicts with the object's state (running, locked, already exists)."}


class StudioAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The OpenAPI document, built once per process and path (walking every operation's schemas took 0.27 s
        for each request of /v1/openapi.json); each caller gets a copy of its own to change."""
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache = self.__dict__.setdefault("_openapi_schemas", {})
        if key not in cache:
            cache[key] = self._build_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return copy.deepcopy(cache[key])

    def _build_openapi_schema(self, **kwargs):
        """Every operation declares the 4xx responses it may give, with the {"detail": …} schema."""
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for methods in schema["paths"].values():
            for method, operation in methods.items():
                # Status codes as strings: an operation declaring response={409: …} next to the "409" added here
                # would otherwise write the key twice, and Swagger UI refuses the whole document.
                declared = operation["responses"] = {str(code): spec for code, spec in operation.get("responses", {}).items()}
                errors = {**ERRORS, **(WRITE_ERRORS if method in ("post", "put", "patch", "delete") else {})}
                for status, description in errors.items():
                    declared.setdefault(status, {"description": description, **error})
        return schema


api = StudioAPI(
    title="Persona Studio API",
    version="1",
    description="Design, test and train LLM personas. Authenticate with `Authorization: Bearer <api key>` "
    "or a browser session (+CSRF; pick the org with the X-Studio-Org header).",
    auth=[ApiKeyAuth(), OrgSessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(StudioError)
def studio_error(request, exc: StudioError):
    return api.create_response(request, {"detail": exc.as_detail()}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc: AuthenticationError):
    message = exc.message if exc.message != "Unauthorized" else "authentication required: send 'Authorization: Bearer <api key>' or log in"
    return api.create_response(request, {"detail": message}, status=401)


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    return api.create_response(request, {"detail": "request body is too large"}, status=413)


api.add_router("/", tenancy_router)
api.add_router("/personas", personas_router)
api.add_router("/runs", runs_router)
api.add_router("/config", config_router)
api.add_router("/", audits_router)
api.add_router("/", chat_router)
api.add_router("/", evals_router)
api.add_router("/", reviews_router)
api.add_router("/", traits_router)
api.add_router("/webhooks", webhooks_router)
api.add_router("/", training_router)
api.add_router("/", datasets_router)
