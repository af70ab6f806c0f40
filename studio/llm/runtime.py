"""litellm itself: imported lazily, once, with what the studio does not use switched off.

Importing litellm costs seconds and allocates about a million objects, so nothing
Django loads at startup imports it; the first LLM call does, through `litellm()`.
No Django here: the batch worker processes load this module too.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import os
import threading
from functools import lru_cache

logger = logging.getLogger(__name__)

_lock = threading.RLock()
_module = None
_custom_providers: dict[str, str] = {}  # provider name -> "package.module:Handler"
_handlers: dict = {}  # provider name -> its CustomLLM instance, once litellm is loaded
_direct_paths: dict[str, str] = {}  # provider name -> "package.module:Handler" the gateway calls without litellm
_direct_handlers: dict = {}


def litellm():
    """The litellm module, imported and tuned on first use."""
    if _module is None:
        _load()
    return _module


def is_loaded() -> bool:
    return _module is not None


def _load() -> None:
    global _module
    with _lock:
        if _module is not None:
            return
        # settings sets this too; a worker process or a script may not have loaded settings
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm as module

        _tune(module)
        for name, handler_path in _custom_providers.items():
            _install(module, name, handler_path)
        # litellm's import leaves ~1M long-lived objects that every full collection would
        # walk again (0.2 s pauses mid-batch); move them out of the collector's way.
        gc.collect()
        gc.freeze()
        _module = module


def _tune(module) -> None:
    """Per-call overhead: no callbacks, no debug banners, no telemetry; the studio records attempts itself."""
    module.suppress_debug_info = True
    module.set_verbose = False
    module.telemetry = False
    for name in ("callbacks", "success_callback", "failure_callback", "input_callback", "service_callback"):
        setattr(module, name, [])
    for name in ("_async_success_callback", "_async_failure_callback", "_async_input_callback"):
        setattr(module, name, [])
    module.num_retries = None  # the gateway retries, so every attempt is recorded
    module.model_fallbacks = None
    _drop_logging_tasks()


def _drop_logging_tasks() -> None:
    """With no callbacks, litellm still queues a success-logging coroutine per async call on a process-wide worker
    bound to one event loop. The studio runs calls on many short-lived loops (worker threads, batches), so at each
    loop's end that worker logged ~80 lines of "cannot reuse already awaited coroutine" and "Task was destroyed but
    it is pending" — burying the console's invitation links. Nothing listens, so the coroutine is closed unrun."""
    from litellm.litellm_core_utils import logging_worker

    def discard(async_coroutine) -> None:
        async_coroutine.close()

    logging_worker.GLOBAL_LOGGING_WORKER.ensure_initialized_and_enqueue = discard


# --- custom providers (e.g. the offline engine) -------------------------------------------


def register_custom_provider(name: str, handler_path: str, *, direct: str | None = None) -> None:
    """Route `<name>/<model>` to a litellm CustomLLM, imported from `handler_path` when litellm loads.

    `direct` names a handler with the same completion methods that needs no litellm (returning a
    results.Reply): the gateway calls it instead, and a process that only uses this provider never
    imports litellm (about 5 s of CPU)."""
    if not name or "/" in name or ":" not in handler_path or (direct is not None and ":" not in direct):
        raise ValueError("register_custom_provider(name, 'package.module:Handler', direct='package.module:Handler')")
    with _lock:
        _custom_providers[name] = handler_path
        _direct_handlers.pop(name, None)
        if direct is None:
            _direct_paths.pop(name, None)
        else:
            _direct_paths[name] = direct
        if _module is not None:
            _install(_module, name, handler_path)


def custom_provider_names() -> frozenset[str]:
    return frozenset(_custom_providers)


def is_custom_model(model: str) -> bool:
    prefix, slash, _ = model.partition("/")
    return bool(slash) and prefix in _custom_providers


def custom_handler(model: str):
    """The in-process handler that serves `model`, called directly by the gateway; None for a model litellm calls.

    The provider's `direct` handler where it has one (no litellm needed), else its litellm CustomLLM."""
    if not is_custom_model(model):
        return None
    name = model.partition("/")[0]
    if name in _direct_paths:
        with _lock:
            if name not in _direct_handlers:
                _direct_handlers[name] = _instantiate(_direct_paths[name])
            return _direct_handlers[name]
    litellm()  # installs the CustomLLM handlers
    return _handlers[name]


def direct_handler(model: str):
    """The provider's `direct` handler (no litellm) for `model`; None when it has none."""
    return custom_handler(model) if model.partition("/")[0] in _direct_paths else None


# Keyword arguments of a litellm completion that are litellm's own, not the model's knobs.
_CALL_ARGUMENTS = ("model", "messages", "timeout", "drop_params", "api_key", "api_base")


def handler_arguments(call: dict) -> dict:
    """The arguments litellm hands a custom provider's handler for `litellm.completion(**call)`.

    An in-process provider (the offline engine, the local model) is called directly: through
    litellm, each call cost about 2.5 ms of its bookkeeping (logging objects, request building,
    pricing a model its cost map does not know), five times the offline engine's own work.
    The handler sees what litellm would give it: the model without its provider prefix, the
    sampling knobs as `optional_params`, a fresh `model_response` to fill (None for a `direct`
    handler, which answers with a results.Reply).
    """
    knobs = {key: value for key, value in call.items() if key not in _CALL_ARGUMENTS}
    name, _, model = call["model"].partition("/")
    return {
        "model": model,
        "messages": call["messages"],
        "optional_params": knobs,
        "model_response": None if name in _direct_paths else litellm().ModelResponse(),
        "timeout": call.get("timeout"),
        "api_key": call.get("api_key"),
        "api_base": call.get("api_base"),
        "headers": {},
    }


def _instantiate(handler_path: str):
    module_path, _, attribute = handler_path.partition(":")
    handler = getattr(importlib.import_module(module_path), attribute)
    return handler() if isinstance(handler, type) or inspect.isfunction(handler) else handler  # a class or a factory


def _install(module, name: str, handler_path: str) -> None:
    handler = _instantiate(handler_path)
    entries = [entry for entry in module.custom_provider_map if entry.get("provider") != name]
    module.custom_provider_map = [*entries, {"provider": name, "custom_handler": handler}]
    _handlers[name] = handler
    module.utils.custom_llm_setup()
    supports_response_format.cache_clear()


# --- what a model can do -----------------------------------------------------------------


@lru_cache(maxsize=512)
def supports_response_format(model: str) -> bool:
    """Whether litellm can ask `model` for a JSON object (response_format) on its route."""
    if is_custom_model(model):
        return False
    module = litellm()
    try:
        _, provider, _, _ = module.get_llm_provider(model)
        params = module.get_supported_openai_params(model=model, custom_llm_provider=provider) or []
    except Exception:  # unknown to litellm: don't send what it might reject
        return False
    return "response_format" in params


@lru_cache(maxsize=512)
def litellm_provider(model: str) -> str | None:
    """litellm's provider name for a model written without a prefix (gpt-4o → openai)."""
    try:
        return litellm().get_llm_provider(model)[1]
    except Exception:
        return None
