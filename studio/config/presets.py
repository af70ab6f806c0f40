"""Named bundles of config values, applied as one bulk change. Pure data, no Django.

Every model named here is an entry of litellm's bundled cost map (a test checks it).
"""

from dataclasses import dataclass

from studio.config.schema import HAIKU, OPUS, SONNET, STEPS


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    description: str
    values: dict


def _models(deep: str, light: str, deep_fallback: str, light_fallback: str) -> dict:
    """Deep model for the soul draft and the audit, light model for the other steps."""
    values = {}
    for step in STEPS:
        deep_step = step in {"soul_draft", "audit"}
        values[f"engine.pipeline.{step}.model"] = deep if deep_step else light
        values[f"engine.pipeline.{step}.fallbacks"] = [deep_fallback if deep_step else light_fallback]
    return values


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in [
        Preset(
            "anthropic", "Anthropic defaults", "Claude Opus for soul and audit, Sonnet elsewhere, Haiku/Sonnet fallbacks.",
            {**_models(OPUS, SONNET, SONNET, HAIKU), "engine.pipeline.fingerprint.embedding_model": "openai/text-embedding-3-small"},
        ),
        Preset(
            "openai", "OpenAI", "GPT-5 for soul and audit, GPT-5 mini elsewhere, OpenAI embeddings.",
            {**_models("openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-5-mini", "openai/gpt-5-nano"),
             "engine.pipeline.fingerprint.embedding_model": "openai/text-embedding-3-small"},
        ),
        Preset(
            "google", "Google", "Gemini 2.5 Pro for soul and audit, 2.5 Flash elsewhere, Gemini embeddings.",
            {**_models("gemini/gemini-2.5-pro", "gemini/gemini-2.5-flash", "gemini/gemini-2.5-flash", "gemini/gemini-2.5-flash-lite"),
             "engine.pipeline.fingerprint.embedding_model": "gemini/gemini-embedding-001"},
        ),
        Preset(
            "budget", "Budget", "Small models everywhere, fewer fingerprint scenarios and audit retries.",
            {**_models(SONNET, HAIKU, HAIKU, "openai/gpt-5-nano"),
             "engine.pipeline.fingerprint.scenarios": 20, "engine.pipeline.audit.max_retries": 1},
        ),
    ]
}
