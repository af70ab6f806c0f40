"""The LLM gateway: the one place the studio calls litellm.

    config = StepConfig.from_step(effective_tree(org, ws).step("soul_draft"), json_mode=True)
    completion = complete(messages, config, organization=org, parse=Soul.model_validate_json)
    completion.text, completion.model, completion.cost_usd, completion.attempts

- Credentials come from the org (`studio.services.credential_resolve`), else the
  environment. `openai/<name>` goes to the org's OpenAI-compatible endpoint when it
  has one, else to OpenAI. A model whose provider has no credentials is a
  `no_credentials` attempt and the chain moves on; models of custom providers
  (`register_custom_provider`, e.g. offline/) need none.
- Transient failures (429, 5xx, timeouts, connection errors) and output that
  `parse` rejects are retried on the same model with exponential backoff and
  jitter (settings LLM_MAX_RETRIES, LLM_RETRY_BACKOFF_S), then the next model of
  the fallback chain is tried; auth and bad-request errors go straight to the
  next model. When everything failed: LLMError listing every attempt
  (NoCredentialsError when no model could be called at all). See attempts.py for
  why the loop is the studio's own rather than litellm's `fallbacks=`.
- `abatch` bounds concurrency and keeps order; large batches are fanned out to
  worker processes (fanout.py; settings LLM_BATCH_PROCESSES, LLM_BATCH_FANOUT_MIN).
  Given a `Budget`, it reserves each call's worst-case cost before sending it and
  sends no call that could pass the cap: those come back as BudgetExceededError
  (budget.py); what was spent is settled into the budget.

litellm is imported on the first call to a provider it serves, never when Django starts
(runtime.py); the offline engine's completions and embeddings never import it (offline/handler.py).
From sync code (a Celery task) call the async functions through
`asgiref.sync.async_to_sync`, so the credential lookup runs on the caller's
database connection.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future
from typing import Any, Callable, Sequence

from asgiref.sync import sync_to_async
from django.conf import settings

from studio.llm import attempts, fanout, runtime
from studio.llm.attempts import RetryPolicy, Route
from studio.llm.budget import Budget
from studio.llm.results import (
    ATTEMPT_KINDS,
    RETRYABLE_KINDS,
    Attempt,
    BudgetExceededError,
    Completion,
    LLMError,
    NoCredentialsError,
    StepConfig,
    billed,
)
from studio.llm.runtime import register_custom_provider

__all__ = [
    "ATTEMPT_KINDS",
    "RETRYABLE_KINDS",
    "Attempt",
    "Budget",
    "BudgetExceededError",
    "Completion",
    "LLMError",
    "NoCredentialsError",
    "StepConfig",
    "abatch",
    "batch_processes",
    "billed",
    "acomplete",
    "complete",
    "embed",
    "submit",
    "provider_for_model",
    "register_custom_provider",
]

Parse = Callable[[str], Any] | None

# litellm's provider names for models written without a prefix → the studio's providers
_LITELLM_TO_STUDIO = {"openai": "openai", "text-completion-openai": "openai", "anthropic": "anthropic", "gemini": "google"}


def complete(
    messages: list[dict],
    config: StepConfig,
    *,
    organization=None,
    parse: Parse = None,
    max_retries: int | None = None,
) -> Completion:
    """One completion through the retry loop and the fallback chain; LLMError when all fail."""
    routes = _routes(config.models, organization)
    return attempts.run_chain(routes, messages, config, parse=parse, policy=_policy(max_retries))


def submit(
    executor: Executor,
    messages: list[dict],
    config: StepConfig,
    *,
    organization=None,
    parse: Parse = None,
    max_retries: int | None = None,
) -> Future:
    """`complete` on `executor`, so the caller can do its own work while the request is in flight.

    Credentials are resolved here, in the caller's thread (they may need its database connection);
    the executor's thread only talks to the provider. The future raises LLMError when all fail.
    """
    routes = _routes(config.models, organization)
    return executor.submit(attempts.run_chain, routes, messages, config, parse=parse, policy=_policy(max_retries))


async def acomplete(
    messages: list[dict],
    config: StepConfig,
    *,
    organization=None,
    parse: Parse = None,
    max_retries: int | None = None,
) -> Completion:
    """`complete` for async code: the same loop, awaiting litellm.acompletion."""
    routes = await _aroutes(config.models, organization)
    return await attempts.arun_chain(routes, messages, config, parse=parse, policy=_policy(max_retries))


async def abatch(
    requests: Sequence[tuple[list[dict], StepConfig]],
    *,
    organization=None,
    parse: Parse = None,
    concurrency: int = 64,
    budget: Budget | None = None,
    on_result: attempts.OnResult = None,
) -> list[Completion | LLMError]:
    """Many completions, at most `concurrency` in flight; results in request order, errors in place.

    With a `budget`, no call is sent whose worst-case cost could pass its cap (BudgetExceededError in
    its place), and the budget's `spent_usd` grows by what the calls cost. `on_result(index, result)`
    is awaited as each request finishes (a job's progress); in a batch fanned out to worker
    processes, when the batch comes back.
    """
    requests = list(requests)
    if not requests:
        return []
    models = list(dict.fromkeys(model for _, config in requests for model in config.models))
    by_model = dict(zip(models, await _aroutes(models, organization)))
    items = [(messages, config, tuple(by_model[m] for m in config.models)) for messages, config in requests]
    policy = _policy(None)
    processes = batch_processes(len(items), models, parse=parse, concurrency=concurrency)
    if processes > 1:
        results = await fanout.run_batch(items, concurrency=concurrency, processes=processes, parse=parse, policy=policy,
                                         budget=budget)
        for index, result in enumerate(results if on_result is not None else ()):
            await on_result(index, result)
        return results
    return await attempts.run_batch(items, concurrency=concurrency, parse=parse, policy=policy, budget=budget,
                                    on_result=on_result)


def embed(texts: list[str], model: str, *, organization=None) -> tuple[list[list[float]], float]:
    """Embedding vectors for `texts` (in order) and their cost, via litellm.embedding (the offline engine's directly)."""
    if not texts:
        return [], 0.0
    (route,) = _routes((model,), organization)
    return attempts.embed_with_retries(route, list(texts), policy=_policy(None))


def provider_for_model(model: str, organization=None) -> str | None:
    """The studio provider whose credentials `model` uses; None when it needs none of the studio's."""
    candidates = _provider_candidates(model)
    for provider in candidates:
        if _credentials(provider, organization) is not None:
            return provider
    return candidates[-1] if candidates else None


# --- credentials → routes --------------------------------------------------------------


def _provider_candidates(model: str) -> tuple[str, ...]:
    """Providers whose credentials could serve `model`, preferred first."""
    if runtime.is_custom_model(model):
        return ()
    prefix, slash, _ = model.partition("/")
    if not slash:
        if model.startswith("claude"):
            return ("anthropic",)
        provider = _LITELLM_TO_STUDIO.get(runtime.litellm_provider(model) or "")
        return (provider,) if provider else ()
    return {
        "openai": ("openai_compatible", "openai"),
        "anthropic": ("anthropic",),
        "gemini": ("google",),
    }.get(prefix, ())


def _credentials(provider: str, organization) -> dict | None:
    from studio import services  # models: not importable before Django is set up

    if organization is not None:
        return services.credential_resolve(organization=organization, provider=provider)
    key_var, base_var = services.ENV_FALLBACK[provider]
    if api_key := os.environ.get(key_var):
        return {"api_key": api_key, "api_base": os.environ.get(base_var) if base_var else None}
    return None


def _routes(models, organization) -> list[Route]:
    resolved: dict[str, dict | None] = {}  # provider → credentials, looked up once per call

    def lookup(provider):
        if provider not in resolved:
            resolved[provider] = _credentials(provider, organization)
        return resolved[provider]

    routes = []
    for model in models:
        candidates = _provider_candidates(model)
        found = next(((p, lookup(p)) for p in candidates if lookup(p) is not None), None)
        if not candidates:
            routes.append(Route(model))  # custom provider, or litellm's own environment handling
        elif found is None:
            routes.append(Route(model, missing=_missing_message(model, candidates[-1])))
        else:
            credentials = tuple((key, value) for key, value in found[1].items() if value)
            routes.append(Route(model, credentials=credentials))
    return routes


async def _aroutes(models, organization) -> list[Route]:
    from studio import services

    providers = {provider for model in models for provider in _provider_candidates(model)}
    if organization is None or services.credentials_cached(organization=organization, providers=providers):
        return _routes(models, organization)  # no database needed: no hop to a sync thread
    return await sync_to_async(_routes)(models, organization)


def _missing_message(model: str, provider: str) -> str:
    from studio import services

    key_var, _ = services.ENV_FALLBACK[provider]
    return f"no credentials for provider '{provider}' (model {model}): set them on the Providers page or {key_var}"


# --- settings ------------------------------------------------------------------------------


def _policy(max_retries: int | None) -> RetryPolicy:
    return RetryPolicy(
        max_retries=getattr(settings, "LLM_MAX_RETRIES", 2) if max_retries is None else max_retries,
        backoff_s=getattr(settings, "LLM_RETRY_BACKOFF_S", 0.5),
    )


def batch_processes(size: int, models, *, parse: Parse = None, concurrency: int = 64) -> int:
    """How many worker processes `abatch` spreads a batch over; 1 keeps it in this process."""
    processes = getattr(settings, "LLM_BATCH_PROCESSES", None)
    if processes is None:
        processes = min(os.cpu_count() or 1, 8)
    if processes < 2 or concurrency < 2 or size < getattr(settings, "LLM_BATCH_FANOUT_MIN", 128):
        return 1
    # custom providers (offline/) live in this process; a parse function must travel to the workers
    if any(runtime.is_custom_model(model) for model in models):
        return 1
    if parse is not None and not fanout.picklable(parse):
        return 1
    return processes
