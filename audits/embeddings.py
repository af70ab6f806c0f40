"""Which model embeds a voice fingerprint when the org has no credentials, and how a fingerprint's space reads.

With no provider, MiniLM (`local/all-minilm-l6-v2`, 384-d sentence embeddings run in-process) embeds the
fingerprint and every reply scored against it: its distances follow meaning, so a reply in the persona's
voice sits near the fingerprint and a Python function far from it. The offline engine's hashed character
n-grams (`offline/studio-embed`) are the fallback when MiniLM cannot run here, labelled with the reason.
A fingerprint keeps the model it was embedded with: replies are compared in its own space
(audits.chat.services.embedding_model_for).
"""

from django.conf import settings

from studio.llm import local_embeddings
from studio.llm.local_models import LOCAL_EMBEDDING_MODEL

OFFLINE_EMBEDDING_MODEL = "offline/studio-embed"  # studio.llm.offline.engine.offline_embedding: hashed 2- and 3-grams
OFFLINE_PREFIX = "offline/"  # any offline/… model embeds with the hashed n-grams
MINILM_LABEL = "MiniLM-L6 (semantic)"


def no_credentials_embedding_model() -> str:
    """MiniLM when it can run here (and local models are the defaults), else the hashed n-grams."""
    return LOCAL_EMBEDDING_MODEL if local_embeddings.use_by_default() else OFFLINE_EMBEDDING_MODEL


def fallback_reason() -> str:
    """Why the hashed n-grams stand in for MiniLM, as things are now."""
    if not getattr(settings, "LOCAL_MODELS_DEFAULT", True):
        return "local models are off (STUDIO_LOCAL_MODELS=0)"
    return local_embeddings.problem() or "computed before MiniLM was available: compute the fingerprint again"


def embedding_label(model: str) -> str:
    """What the fingerprint's embedding model is, in words: semantic, the labelled fallback, or a provider's model."""
    if model == LOCAL_EMBEDDING_MODEL:
        return MINILM_LABEL
    if model.startswith(OFFLINE_PREFIX):
        return f"hashed n-grams (fallback: {fallback_reason()})"
    return f"{model} (provider)" if model else "—"
