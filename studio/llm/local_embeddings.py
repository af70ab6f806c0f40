"""all-MiniLM-L6-v2 sentence embeddings in-process: the `local/all-minilm-l6-v2` model (384-d, unit length).

    vectors, tokens = encode(["The tide keeps its own counsel.", "How was the harbour today?"])

What sentence-transformers does for this model, with transformers alone: WordPiece tokens cut at 256
(the model's `max_seq_length`), the last hidden state averaged over the attention mask, then L2-normalised.
One model per process, loaded on first use from the unzipped package (studio.llm.local_models.minilm_dir),
offline (`HF_HUB_OFFLINE`, `local_files_only`); a forked child loads its own. Texts are encoded in batches of
similar length, so short texts are not padded to the longest one.

Threads: settings.LOCAL_EMBEDDING_THREADS (0: half the cores, at least one), set for the encoding only and
restored after. torch's threads meet at spin barriers, so on a machine whose cores are busy (the web process,
workers and a training run share a laptop) more threads are slower: on 2 busy cores, one thread encoded 29–47
texts/s and two threads 4–18.

Imports torch and transformers (the `train` extra) only when a text is encoded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading

from studio.llm import local_models

DIMENSIONS = 384
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length: what the model was trained on
BATCH_SIZE = 16  # on one CPU thread, 16 beat 1, 32 and 64 (38 vs 24, 35, 28 texts/s: tests/benchmarks/test_embedding_bench.py)
NEEDS = ("torch", "transformers")


def problem() -> str | None:
    """Why MiniLM cannot embed here (the package's file, or torch and transformers missing), or None."""
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (the `train` extra): run `pip install -e '.[train]'`"
    return local_models.problem(local_models.MINILM)


def use_by_default() -> bool:
    """Whether MiniLM is the embedding model of an org without credentials (LOCAL_MODELS_DEFAULT and it can run)."""
    return local_models.use_by_default(local_models.MINILM) and problem() is None


class _Encoder:
    """The tokenizer and model, loaded once per process."""

    _lock = threading.Lock()  # loading
    _run_lock = threading.Lock()  # encoding
    _loaded = None
    _pid = None

    @classmethod
    def get(cls):
        if cls._loaded is not None and cls._pid == os.getpid():
            return cls._loaded
        with cls._lock:
            if cls._loaded is None or cls._pid != os.getpid():
                cls._loaded = cls._load()
                cls._pid = os.getpid()
        return cls._loaded

    @staticmethod
    def _load():
        folder = local_models.minilm_dir()  # ModelUnavailable when the package is missing or does not match
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
        model.eval()
        return tokenizer, model


def mean_pool(last_hidden_state, attention_mask):
    """The average of each text's token vectors, padding excluded (sentence-transformers' mean pooling)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def threads() -> int:
    from django.conf import settings

    return int(getattr(settings, "LOCAL_EMBEDDING_THREADS", 0) or 0) or max(1, (os.cpu_count() or 2) // 2)


@contextlib.contextmanager
def _torch_threads(count: int):
    """torch's intra-op threads set to `count` for the block (a process-wide setting: restored after)."""
    import torch

    before = torch.get_num_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if count != before:
            torch.set_num_threads(before)


def encode(texts: list[str], *, batch_size: int = BATCH_SIZE) -> tuple[list[list[float]], int]:
    """(unit vectors in the order of `texts`, tokens read). Raises ModelUnavailable when MiniLM is not installed."""
    if not texts:
        return [], 0
    import torch

    tokenizer, model = _Encoder.get()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch: less padding
    size = max(1, batch_size)
    vectors: list[list[float] | None] = [None] * len(texts)
    tokens = 0
    # One encoding at a time per process: a fast tokenizer is not safe to call from two threads, and the
    # thread count is process-wide.
    with _Encoder._run_lock, _torch_threads(threads()), torch.inference_mode():
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            batch = tokenizer([texts[i] for i in chunk], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            pooled = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), p=2, dim=1)
            tokens += int(batch["attention_mask"].sum())
            for i, row in zip(chunk, pooled.tolist()):
                vectors[i] = row
    return vectors, tokens
