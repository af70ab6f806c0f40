"""The attempt loop: retries with backoff on one model, then down the fallback chain.

litellm makes each call (an in-process provider's handler, such as the offline engine's, is
called directly: see runtime.handler_arguments), raises its typed exceptions and prices the
response; the loop is the studio's own, not litellm's `fallbacks=`/`num_retries=`, because:
- every attempt is recorded (model, kind, error, latency) for the run's step rows;
- the step's schema takes part: output that `parse` rejects is an `invalid_output`, a reply with no text `empty`
  attempt, retried and then handed to the next model like a provider fault;
- a model whose provider has no credentials is skipped as `no_credentials`.

No Django here (the batch worker processes run this module); credentials arrive
already resolved, as `Route`s.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from studio.llm import runtime
from studio.llm.budget import Budget, max_cost_usd, usd
from studio.llm.results import RETRYABLE_KINDS, Attempt, Completion, LLMError, Reply, StepConfig, failure

Parse = Callable[[str], Any] | None
OnResult = Callable[[int, "Completion | LLMError"], Awaitable[None]] | None
_LITELLM_PREFIX = re.compile(r"^(litellm\.\w+: )?(\w+(Error|Exception): )?")


@dataclass(frozen=True)
class Route:
    """One model of a chain, with the credentials to call it (or why it cannot be called)."""

    model: str
    credentials: tuple[tuple[str, str], ...] = ()  # ("api_key", …), ("api_base", …) for litellm
    missing: str = ""  # "no credentials for provider …" when the model cannot be called


LOCAL_PREFIX = "local/"  # the in-process local engine (studio.llm.local_llm)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2  # extra attempts on the same model after the first
    backoff_s: float = 0.5  # first retry's delay; doubles each retry, ±50 % jitter
    max_delay_s: float = 30.0  # cap, Retry-After included

    def delay(self, retry: int, retry_after: float | None) -> float:
        delay = self.backoff_s * 2 ** (retry - 1) * random.uniform(0.5, 1.5)
        if retry_after:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay_s)


def _json_schema(parse: Parse) -> dict | None:
    """The JSON schema of the pydantic model whose `model_validate_json` is the caller's parser, if it is one."""
    owner = getattr(parse, "__self__", None)
    schema = getattr(owner, "model_json_schema", None)
    try:
        return schema() if callable(schema) else None
    except Exception:  # a model whose schema pydantic cannot write: fall back to plain JSON
        return None


def call_kwargs(route: Route, messages: list[dict], config: StepConfig, parse: Parse = None) -> dict:
    kwargs = {
        "model": route.model,
        "messages": messages,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "timeout": config.timeout_s,
        "max_retries": 0,  # no SDK-level retries hidden from the attempt log
        "drop_params": True,  # a knob a provider lacks is dropped, not an error
        **dict(route.credentials),
    }
    if config.stop:
        kwargs["stop"] = list(config.stop)
    if config.seed is not None:
        kwargs["seed"] = config.seed
    if config.top_p is not None:
        kwargs["top_p"] = config.top_p
    if config.json_mode and route.model.startswith(LOCAL_PREFIX):
        # The local engine constrains its sampling with a grammar: the parser's schema when it has one.
        schema = _json_schema(parse)
        kwargs["response_format"] = ({"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
                                     if schema else {"type": "json_object"})
    elif config.json_mode and runtime.supports_response_format(route.model):
        kwargs["response_format"] = {"type": "json_object"}
    return kwargs


# --- one attempt ---------------------------------------------------------------------


def classify(exc: BaseException) -> str:
    """The attempt kind of a failed call, from litellm's exception types (then status codes)."""
    litellm = runtime.litellm()
    kinds = (
        (litellm.Timeout, "timeout"),
        (litellm.RateLimitError, "rate_limit"),
        ((litellm.AuthenticationError, litellm.PermissionDeniedError), "auth"),
        ((litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.BadGatewayError), "server_error"),
        (litellm.APIConnectionError, "connection"),
        ((litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError), "bad_request"),
        ((asyncio.TimeoutError, TimeoutError), "timeout"),
    )
    for types, kind in kinds:
        if isinstance(exc, types):
            return kind
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        if status == 429:
            return "rate_limit"
        if status >= 500:
            return "server_error"
        if status in (401, 403):
            return "auth"
        if status == 408:
            return "timeout"
        if 400 <= status < 500:
            return "bad_request"
    if isinstance(exc, ConnectionError):
        return "connection"
    return "error"


def readable(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = _LITELLM_PREFIX.sub("", text)  # "litellm.RateLimitError: RateLimitError: " repeats the kind
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(exc: BaseException) -> float | None:
    """The provider's Retry-After, in seconds, when a 429/503 carried one."""
    headers = getattr(exc, "litellm_response_headers", None) or getattr(getattr(exc, "response", None), "headers", None)
    try:
        return float(headers.get("retry-after")) if headers else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    completion: Completion | None = None
    retry_after: float | None = None


def _failed(model: str, exc: BaseException, started: float) -> Outcome:
    kind = classify(exc)
    attempt = Attempt(model, False, kind, readable(exc), _ms(started))
    return Outcome(attempt, retry_after=retry_after(exc) if kind in ("rate_limit", "server_error") else None)


def _finished(model: str, response, started: float, parse: Parse) -> Outcome:
    latency_ms = _ms(started)
    cost = response_cost(model, response)
    if isinstance(response, Reply):  # an in-process provider called directly
        text, prompt_tokens, completion_tokens = response.text, response.prompt_tokens, response.completion_tokens
    else:
        text = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    parsed = None
    if not text.strip():  # an answer with nothing in it is a failed attempt, tried again, never content
        return Outcome(Attempt(model, False, "empty", "the model returned an empty reply", latency_ms, cost, prompt_tokens,
                               completion_tokens))
    if parse is not None:
        try:
            parsed = parse(text)
        except ValueError as exc:  # pydantic's ValidationError and json's JSONDecodeError are ValueErrors
            attempt = Attempt(model, False, "invalid_output", readable(exc), latency_ms, cost, prompt_tokens, completion_tokens)
            return Outcome(attempt)
    completion = Completion(
        text=text,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost,
        latency_ms=latency_ms,
        parsed=parsed,
    )
    return Outcome(Attempt(model, True, "ok", "", latency_ms, cost, prompt_tokens, completion_tokens), completion)


def response_cost(model: str, response) -> float:
    """litellm's price for the response (it prices it while handling the call); 0.0 when unknown."""
    if runtime.is_custom_model(model):
        return 0.0
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:  # litellm priced it already; None means the model is not in its cost map
        return float(hidden["response_cost"] or 0.0)
    try:
        cost = runtime.litellm().completion_cost(completion_response=response)
    except Exception:  # a model missing from the cost map
        cost = 0.0
    return float(cost or 0.0)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def attempt_sync(route: Route, messages: list[dict], config: StepConfig, parse: Parse) -> Outcome:
    started = time.perf_counter()
    try:
        call = call_kwargs(route, messages, config, parse)
        if handler := runtime.custom_handler(route.model):
            response = handler.completion(**runtime.handler_arguments(call))
        else:
            response = runtime.litellm().completion(**call)
    except Exception as exc:
        return _failed(route.model, exc, started)
    return _finished(route.model, response, started, parse)


async def attempt_async(route: Route, messages: list[dict], config: StepConfig, parse: Parse) -> Outcome:
    started = time.perf_counter()
    try:
        call = call_kwargs(route, messages, config, parse)
        if handler := runtime.custom_handler(route.model):
            response = await handler.acompletion(**runtime.handler_arguments(call))
        else:
            response = await runtime.litellm().acompletion(**call)
    except Exception as exc:
        return _failed(route.model, exc, started)
    return _finished(route.model, response, started, parse)


# --- the chain -----------------------------------------------------------------------


def _tries(route: Route, policy: RetryPolicy) -> int:
    return 1 + max(0, policy.max_retries) if not route.missing else 1


def _skipped(route: Route) -> Attempt:
    return Attempt(route.model, False, "no_credentials", route.missing, 0.0)


def run_chain(routes, messages, config, *, parse: Parse, policy: RetryPolicy) -> Completion:
    attempts: list[Attempt] = []
    for route in routes:
        hint = None
        for retry in range(_tries(route, policy)):
            if route.missing:
                attempts.append(_skipped(route))
                break
            if retry:
                time.sleep(policy.delay(retry, hint))
            outcome = attempt_sync(route, messages, config, parse)
            attempts.append(outcome.attempt)
            if outcome.completion is not None:
                return outcome.completion.with_attempts(attempts)
            if outcome.attempt.kind not in RETRYABLE_KINDS:
                break
            hint = outcome.retry_after
    raise failure(attempts)


async def arun_chain(routes, messages, config, *, parse: Parse, policy: RetryPolicy,
                     budget: "BudgetGate | None" = None, pace=None) -> Completion:
    """`pace`, when given, is awaited once before the first call is sent (a call the budget refuses is not paced)."""
    attempts: list[Attempt] = []
    for route in routes:
        hint = None
        for retry in range(_tries(route, policy)):
            if route.missing:
                attempts.append(_skipped(route))
                break
            if retry:
                await asyncio.sleep(policy.delay(retry, hint))
            reserved = 0.0
            if budget is not None:
                reserved = max_cost_usd(route.model, messages, config.max_tokens)
                if not await budget.reserve(reserved):
                    attempts.append(Attempt(route.model, False, "budget", budget.refusal(reserved), 0.0))
                    raise failure(attempts)  # the budget is at its end: no retry, no fallback
            if pace is not None:
                await pace()
                pace = None
            outcome = await attempt_async(route, messages, config, parse)
            if budget is not None:
                await budget.settle(reserved, outcome.attempt.cost_usd)
            attempts.append(outcome.attempt)
            if outcome.completion is not None:
                return outcome.completion.with_attempts(attempts)
            if outcome.attempt.kind not in RETRYABLE_KINDS:
                break
            hint = outcome.retry_after
    raise failure(attempts)


# --- many chains at once -------------------------------------------------------------


class LaunchPacer:
    """Spaces a batch's launches by about the CPU time one call costs this process.

    Started all at once, N calls build their requests interleaved, so all N go out
    (and come back) together and every call waits for the whole wave's CPU work:
    each round trip grows by N × per-call CPU. Launched a CPU-slot apart, the
    answers come back spread out too, and each is handled as it arrives. The slot
    is this process's measured CPU per call (a running average over batches).
    """

    cost_s = 0.005  # litellm's per-call CPU on a 2-core machine, until measured here

    def __init__(self):
        self._next = 0.0
        self._launched = 0
        self._cpu_start = time.thread_time()

    async def wait(self) -> None:
        now = time.perf_counter()
        at = max(now, self._next)
        self._next = at + LaunchPacer.cost_s
        self._launched += 1
        if at > now:
            await asyncio.sleep(at - now)

    def finish(self) -> None:
        if self._launched >= 16:
            per_call = min(max((time.thread_time() - self._cpu_start) / self._launched, 0.0005), 0.02)
            LaunchPacer.cost_s = (LaunchPacer.cost_s + per_call) / 2


class BudgetGate:
    """A batch's Budget shared by its calls: a reservation that does not fit waits for the calls in flight.

    Calls in flight usually cost far less than they reserved, so a reservation that does not fit
    now may fit once they settle; it is refused only when nothing is left in flight to settle.
    """

    def __init__(self, budget: Budget):
        self.budget = budget
        self._settled = asyncio.Condition()

    async def reserve(self, max_cost_usd: float) -> bool:
        async with self._settled:
            while not self.budget.reserve(max_cost_usd):
                if not self.budget.in_flight:
                    return False
                await self._settled.wait()
            return True

    async def settle(self, reserved_usd: float, actual_usd: float) -> None:
        async with self._settled:
            self.budget.settle(reserved_usd, actual_usd)
            self._settled.notify_all()

    def refusal(self, max_cost_usd: float) -> str:
        cost, left, cap = usd(max_cost_usd, max(self.budget.left_usd, 0.0), self.budget.cap_usd)
        return f"not sent: it may cost up to ${cost}, and ${left} of the ${cap} budget is left"


async def run_batch(items, *, concurrency: int, parse: Parse, policy: RetryPolicy,
                    budget: Budget | None = None, on_result: OnResult = None) -> list[Completion | LLMError]:
    """Chains for (messages, config, routes) items, at most `concurrency` at once, results in order.

    With a `budget`, each attempt reserves its worst-case cost first (budget.py); what the calls
    cost is settled into it. `on_result(index, result)` is awaited as each item finishes (after its
    slot is freed), e.g. to record progress; what it raises ends the batch.
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))
    pacer = LaunchPacer()
    gate = BudgetGate(budget) if budget is not None else None

    async def one(index, messages, config, routes):
        async with semaphore:
            try:
                result = await arun_chain(routes, messages, config, parse=parse, policy=policy, budget=gate, pace=pacer.wait)
            except LLMError as error:
                result = error
        if on_result is not None:
            await on_result(index, result)
        return result

    try:
        return list(await asyncio.gather(*(one(i, *item) for i, item in enumerate(items))))
    finally:
        pacer.finish()


# --- embeddings ----------------------------------------------------------------------


def embed_with_retries(route: Route, texts: list[str], *, policy: RetryPolicy, timeout_s: float = 60.0):
    """(vectors, cost) for `texts`, retrying transient errors on the one model."""
    if handler := runtime.direct_handler(route.model):  # in-process and free: nothing to retry
        return handler.embedding(route.model.partition("/")[2], texts), 0.0
    log: list[Attempt] = []
    hint = None
    for retry in range(_tries(route, policy)):
        if route.missing:
            log.append(_skipped(route))
            break
        if retry:
            time.sleep(policy.delay(retry, hint))
        started = time.perf_counter()
        try:
            response = runtime.litellm().embedding(
                model=route.model, input=texts, timeout=timeout_s, max_retries=0, **dict(route.credentials)
            )
        except Exception as exc:
            outcome = _failed(route.model, exc, started)
            log.append(outcome.attempt)
            if outcome.attempt.kind not in RETRYABLE_KINDS:
                break
            hint = outcome.retry_after
            continue
        rows = sorted(response.data, key=lambda row: _field(row, "index") or 0)
        return [list(_field(row, "embedding")) for row in rows], response_cost(route.model, response)
    raise failure(log)


def _field(row, name):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)
