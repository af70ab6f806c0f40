"""Which model names the config tree accepts: litellm's bundled catalogue plus custom provider prefixes.

settings sets LITELLM_LOCAL_MODEL_COST_MAP, so the catalogue is the cost map bundled with the installed litellm.
Importing litellm to read it costs 3–5 CPU-s, and every server process, worker and test process that checks a
model name paid it: the first process to read it keeps it under CACHE_DIR, keyed by litellm's version and the
bundled map's bytes, and the others read that file (a few milliseconds) without importing litellm. A map fetched
from the network (LITELLM_LOCAL_MODEL_COST_MAP off) is litellm's own business and is never cached.
"""

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import threading
from functools import lru_cache
from importlib import metadata
from pathlib import Path

logger = logging.getLogger(__name__)

# The studio's own provider: always available, answers without credentials.
OFFLINE_PREFIX = "offline/"
# Any model behind an org's OpenAI-compatible endpoint, named through litellm's openai/ route.
OPENAI_COMPATIBLE_PREFIX = "openai/"
# The local engine (studio.llm.local_llm): the packaged models, by mode.
LOCAL_MODELS = {"chat": frozenset({"local/smollm2-135m-instruct"}), "embedding": frozenset({"local/all-minilm-l6-v2"})}

CHAT_MODES = frozenset({"chat", "responses", "completion", None})
MODES = {"chat": CHAT_MODES, "embedding": frozenset({"embedding"})}


BUNDLED_COST_MAP = "model_prices_and_context_window_backup.json"


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict, frozenset]:
    """({model name: litellm's entry}, litellm's provider names): from the cache file when it is there and whole."""
    cache = catalogue_cache_path()
    if cache is not None and (kept := _read(cache)) is not None:
        return kept
    costs, providers = catalogue_from_litellm()
    if cache is not None:
        _save(cache, {"costs": costs, "providers": sorted(providers)})
    return costs, providers


def catalogue_from_litellm() -> tuple[dict, frozenset]:
    import litellm  # lazy: see the module docstring

    costs = {name: entry for name, entry in litellm.model_cost.items() if name != "sample_spec" and isinstance(entry, dict)}
    providers = frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)
    return costs, providers


def catalogue_cache_path() -> Path | None:
    """Where the catalogue of the installed litellm is kept; None when it is not taken from the bundled map."""
    if os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "").lower() != "true":
        return None
    spec = importlib.util.find_spec("litellm")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        bundled = (Path(next(iter(spec.submodule_search_locations))) / BUNDLED_COST_MAP).read_bytes()
        version = metadata.version("litellm")
    except (OSError, metadata.PackageNotFoundError):
        return None
    from django.conf import settings

    digest = hashlib.sha256(version.encode() + b"\0" + bundled).hexdigest()[:20]
    return Path(settings.CACHE_DIR) / f"litellm-catalogue-{digest}.json"


def _read(path: Path) -> tuple[dict, frozenset] | None:
    """The kept catalogue; None when no process has kept it yet, or when the file is not one (it is then made again)."""
    try:
        saved = json.loads(path.read_text())
        return saved["costs"], frozenset(saved["providers"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("litellm's model catalogue kept at %s is unreadable: it is made again", path)
        return None


def _save(path: Path, content: dict) -> None:
    """Written whole or not at all (processes starting together may each write it; the last one wins)."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(content))
        os.replace(partial, path)
    except (OSError, TypeError, ValueError):
        logger.warning("could not keep litellm's model catalogue under %s", path.parent, exc_info=True)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def warm_in_background() -> threading.Thread:
    """Load the catalogue on a daemon thread, once a server process starts: where no process has kept it yet, the
    first model check in a process (a config save naming a model, a preset, a launch form) would otherwise pay
    litellm's import inside the request — about 5 s of CPU, past a browser's patience on a loaded machine."""

    def warm() -> None:
        try:
            _catalogue()
        except Exception:  # the request that needs it will raise it again, with a page to show it on
            logger.exception("could not load litellm's model catalogue in the background")

    thread = threading.Thread(target=warm, name="litellm-catalogue-warmup", daemon=True)
    thread.start()
    return thread


def catalogue_entry(name: str) -> dict | None:
    """litellm's entry for `name`, taken as is or as `<provider>/<model>` of a model of that provider."""
    costs, providers = _catalogue()
    if entry := costs.get(name):
        return entry
    provider, _, rest = name.partition("/")
    entry = costs.get(rest) if rest and provider in providers else None
    if entry and entry.get("litellm_provider") == provider:
        return entry
    return None


def check_model(name: str, mode: str, *, openai_compatible: bool = False) -> str | None:
    """None when `name` can serve `mode` calls; else why not, in words."""
    if name.startswith(OFFLINE_PREFIX) and len(name) > len(OFFLINE_PREFIX):
        return None
    if name.startswith("local/"):
        if name in LOCAL_MODELS[mode]:
            return None
        return f"unknown local model '{name}': the local engine serves {', '.join(sorted(LOCAL_MODELS[mode]))} for {mode} calls"
    entry = catalogue_entry(name)
    if entry is None:
        if openai_compatible and name.startswith(OPENAI_COMPATIBLE_PREFIX) and len(name) > len(OPENAI_COMPATIBLE_PREFIX):
            return None  # the org's own endpoint decides what it serves
        endpoint = "" if openai_compatible else ", or openai/<model> once the org has an OpenAI-compatible endpoint"
        return f"unknown model '{name}': not in litellm's model list (use a litellm name, offline/<model>{endpoint})"
    if entry.get("mode") not in MODES[mode]:
        return f"'{name}' is a {entry.get('mode')} model; this key needs a {mode} model"
    return None


def known_chat_models(prefix: str = "") -> list[str]:
    """A few names for the UI's suggestions."""
    costs, _ = _catalogue()
    return sorted(name for name, entry in costs.items() if entry.get("mode") == "chat" and name.startswith(prefix))
