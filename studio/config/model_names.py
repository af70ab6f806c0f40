"""Which model names the config tree accepts: litellm's bundled catalogue plus custom provider prefixes.

litellm is imported lazily, on the first model check (importing it costs seconds);
settings sets LITELLM_LOCAL_MODEL_COST_MAP so it never fetches the map from the network.
"""

import logging
import threading
from functools import lru_cache

logger = logging.getLogger(__name__)

# The studio's own provider: always available, answers without credentials.
OFFLINE_PREFIX = "offline/"
# Any model behind an org's OpenAI-compatible endpoint, named through litellm's openai/ route.
OPENAI_COMPATIBLE_PREFIX = "openai/"
# The local engine (studio.llm.local_llm): the packaged models, by mode.
LOCAL_MODELS = {"chat": frozenset({"local/smollm2-135m-instruct"}), "embedding": frozenset({"local/all-minilm-l6-v2"})}

CHAT_MODES = frozenset({"chat", "responses", "completion", None})
MODES = {"chat": CHAT_MODES, "embedding": frozenset({"embedding"})}


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict, frozenset]:
    import litellm  # lazy: see the module docstring

    costs = {name: entry for name, entry in litellm.model_cost.items() if name != "sample_spec" and isinstance(entry, dict)}
    providers = frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)
    return costs, providers


def warm_in_background() -> threading.Thread:
    """Load the catalogue on a daemon thread, once a server process starts: the first model check in a process
    (a config save naming a model, a preset, a launch form) would otherwise pay litellm's import inside the request —
    about 5 s of CPU, past a browser's patience on a loaded machine."""

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
