"""The real TRL backend (issue 7 point 9) trains the built-in tiny model on CPU: DPO with the NLL term and SFT,
both with a LoRA adapter, metrics streamed per step, adapters saved, and should_stop() ending training early.

The training tests need the train extras (`pip install -e '.[train]'`) and are skipped without them; the
import-hygiene and config tests run everywhere. Pure module tests: no database.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from training_jobs.backends import TrainingBackend, TrainResult, can_sample, get_backend
from training_jobs.backends.trl_backend import TRLConfig, dpo_rows, sft_rows

ROOT = Path(__file__).resolve().parents[1]
NLL_COEF = 0.1
TINY = {"student": "tiny", "batch_size": 4, "lora_r": 8, "lora_alpha": 16, "learning_rate": 1e-3, "seed": 0}


def _pairs(n=16):
    return [
        {
            "prompt": f"Question {i}: how do you feel about the rain today?",
            "system": "You are Mara, a gentle lighthouse keeper.",
            "chosen": f"I'm sorry, forgive me, the rain always makes me wistful. It reminds me of the sea, number {i}.",
            "rejected": f"It is raining. That is all. Number {i}.",
        }
        for i in range(n)
    ]


def _sft_examples(n=16):
    return [
        {"messages": [
            {"role": "system", "content": "You are Mara, a gentle lighthouse keeper."},
            {"role": "user", "content": f"Tell me about yourself ({i})."},
            {"role": "assistant", "content": f"Forgive me, I ramble: the lamp, the gulls and the tide are my days ({i})."},
        ]}
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def backend():
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    return get_backend("trl")


@pytest.fixture(scope="module")
def dpo_run(backend, tmp_path_factory):
    out = tmp_path_factory.mktemp("dpo")
    streamed = []
    result = backend.train_dpo(
        _pairs(), {**TINY, "output_dir": str(out), "max_steps": 6, "nll_coef": NLL_COEF, "beta": 0.1},
        on_metrics=lambda step, metrics: streamed.append((step, metrics)), should_stop=lambda: False,
    )
    return result, streamed


def test_backend_satisfies_the_protocol(backend):
    assert isinstance(backend, TrainingBackend)
    assert backend.name == "trl" and can_sample(backend)


def test_dpo_streams_metrics_for_every_step(dpo_run):
    result, streamed = dpo_run
    assert isinstance(result, TrainResult) and result.kind == "dpo"
    assert result.steps == 6 and not result.stopped_early
    assert [s for s, _ in streamed] == [1, 2, 3, 4, 5, 6]
    for _, metrics in streamed:
        for key in ("loss", "rewards/accuracies", "rewards/margins", "learning_rate", "grad_norm",
                    "logps/chosen", "logps/rejected", "dpo/pref_loss_est"):
            assert key in metrics, key
            assert math.isfinite(metrics[key]), (key, metrics[key])
    assert result.info["loss_type"] == ["sigmoid", "sft"] and result.info["loss_weights"] == [1.0, NLL_COEF]
    assert set(result.info["versions"]) == {"torch", "transformers", "peft", "trl"}


def test_first_dpo_loss_is_ln2_plus_coef_times_nll(dpo_run):
    """SPEC §9: with the NLL term the first logged loss is ln 2 + coef × NLL. At step 1 the LoRA adapter is zero
    (policy = reference, margin 0, preference loss exactly ln 2) and the freshly initialised tiny model is near
    uniform over its vocabulary, so NLL ≈ ln(vocab size)."""
    result, streamed = dpo_run
    first = streamed[0][1]
    assert first["rewards/margins"] == 0.0
    assert first["dpo/pref_loss_est"] == pytest.approx(math.log(2), abs=1e-6)
    expected = math.log(2) + NLL_COEF * math.log(result.info["vocab_size"])
    assert first["loss"] == pytest.approx(expected, abs=0.05)
    assert first["dpo/nll_est"] == pytest.approx(math.log(result.info["vocab_size"]), abs=0.5)
    # the preference part learns: chosen pulls ahead of rejected within 6 steps at this learning rate
    assert streamed[-1][1]["rewards/margins"] > 0 and streamed[-1][1]["rewards/accuracies"] > 0.5


def test_dpo_saves_adapter_tokenizer_base_and_metrics(dpo_run):
    result, _ = dpo_run
    adapter = Path(result.artifacts["adapter_dir"])
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 8
    tokenizer = json.loads((adapter / "tokenizer_config.json").read_text())
    assert "<|assistant|>" in (tokenizer.get("chat_template") or (adapter / "chat_template.jinja").read_text())
    base = Path(result.artifacts["base_dir"])
    assert (base / "config.json").is_file()
    lines = Path(result.artifacts["metrics"]).read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert (Path(result.artifacts["metrics"]).parent / "result.json").is_file()
    assert 300 <= result.info["vocab_size"] <= 512  # byte alphabet + specials + merges learned on the job's texts


def test_sft_after_dpo_trains_on_the_dpo_checkpoint(backend, dpo_run, tmp_path):
    dpo, _ = dpo_run
    streamed = []
    result = backend.train_sft(
        _sft_examples(),
        {**TINY, "output_dir": str(tmp_path / "sft"), "max_steps": 3,
         "student": dpo.artifacts["base_dir"], "init_adapter": dpo.artifacts["adapter_dir"]},
        on_metrics=lambda step, metrics: streamed.append((step, metrics)),
    )
    assert result.kind == "sft" and result.steps == 3 and not result.stopped_early
    assert [s for s, _ in streamed] == [1, 2, 3]
    assert all(math.isfinite(m["loss"]) and "learning_rate" in m for _, m in streamed)
    assert (Path(result.artifacts["adapter_dir"]) / "adapter_model.safetensors").is_file()
    assert result.info["init_adapter"] == dpo.artifacts["adapter_dir"]
    # the post-training checkpoint can be sampled (introspection data from the student itself)
    texts = backend.sample(["How are you?"], {"seed": 0}, base_dir=result.artifacts["base_dir"],
                           adapter_dir=result.artifacts["adapter_dir"], max_new_tokens=5, temperature=0)
    assert len(texts) == 1 and isinstance(texts[0], str)


def test_should_stop_ends_dpo_early_and_keeps_the_adapter(backend, tmp_path):
    streamed = []
    result = backend.train_dpo(
        _pairs(), {**TINY, "output_dir": str(tmp_path), "max_steps": 50},
        on_metrics=lambda step, metrics: streamed.append(step), should_stop=lambda: len(streamed) >= 2,
    )
    assert result.stopped_early and result.steps == 2 and result.max_steps == 50
    assert streamed == [1, 2]
    assert (Path(result.artifacts["adapter_dir"]) / "adapter_model.safetensors").is_file()


def test_should_stop_ends_sft_early(backend, tmp_path):
    result = backend.train_sft(_sft_examples(), {**TINY, "output_dir": str(tmp_path), "max_steps": 50},
                               should_stop=lambda: True)
    assert result.stopped_early and result.steps == 1


def test_lora_layers_adapts_only_the_top_layers(backend, tmp_path):
    """lora_layers=1 on the 2-layer tiny model: every saved LoRA weight belongs to layer 1, none to layer 0;
    0 (the default) and a count of at least the model's layers adapt every layer."""
    from safetensors import safe_open

    def adapted_layers(**config) -> set[int]:
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        result = backend.train_sft(_sft_examples(4), {**TINY, "output_dir": str(out), "max_steps": 1, **config})
        with safe_open(str(Path(result.artifacts["adapter_dir"]) / "adapter_model.safetensors"), "pt") as fh:
            return {int(key.split(".layers.")[1].split(".")[0]) for key in fh.keys()}

    assert adapted_layers(lora_layers=1) == {1}
    assert adapted_layers() == {0, 1}
    assert adapted_layers(lora_layers=5) == {0, 1}


def test_tiny_student_refuses_an_init_adapter(backend, tmp_path):
    with pytest.raises(ValueError, match="init_adapter"):
        backend.train_sft(_sft_examples(2), {"output_dir": str(tmp_path), "init_adapter": str(tmp_path / "x")})


def test_a_hub_id_is_not_loaded_unless_allowed(backend, tmp_path):
    with pytest.raises(ValueError, match="hub loading is off"):
        backend.train_sft(_sft_examples(2), {"output_dir": str(tmp_path), "student": "some-org/some-model"})


# ---- these run without the train extras


def test_importing_the_backend_does_not_import_torch():
    code = ("import sys, training_jobs.backends.trl_backend as m; m.TRLBackend(); "
            "print(sorted(x for x in ('torch', 'transformers', 'trl', 'peft') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_config_rejects_unknown_keys_and_maps_aliases():
    cfg = TRLConfig.from_mapping({"lr": 1e-4, "lora_rank": 16, "dpo_beta": 0.2})
    assert (cfg.learning_rate, cfg.lora_r, cfg.beta) == (1e-4, 16, 0.2)
    with pytest.raises(ValueError, match="bogus"):
        TRLConfig.from_mapping({"bogus": 1})


def test_data_shapes():
    rows = dpo_rows([{"prompt": "Hi", "system": "S", "chosen": "a", "rejected": "b"}])
    assert rows[0]["prompt"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}]
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "a"}]
    assert sft_rows([{"prompt": "Hi", "completion": "yo"}])[0]["messages"][-1] == {"role": "assistant", "content": "yo"}
    with pytest.raises(ValueError):
        dpo_rows([])
    with pytest.raises(ValueError):
        sft_rows([{"nothing": 1}])


def test_curriculum_phases_go_on_training_one_adapter_with_a_cosine_schedule(backend, tmp_path):
    """Phase 2 continues phase 1's LoRA (not a new one on a merged model): one unified adapter."""
    unified = {**TINY, "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "lr_scheduler": "cosine",
               "max_grad_norm": 1.0, "warmup_ratio": 0.03, "learning_rate": 2e-4,
               "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    first = backend.train_sft(_sft_examples(), {**unified, "output_dir": str(tmp_path / "p1"), "max_steps": 4})
    lrs = []
    second = backend.train_sft(
        _sft_examples(), {**unified, "output_dir": str(tmp_path / "p2"), "max_steps": 4, "learning_rate": 1e-4,
                          "student": first.artifacts["base_dir"], "continue_adapter": first.artifacts["adapter_dir"]},
        on_metrics=lambda step, metrics: lrs.append(metrics["learning_rate"]),
    )
    assert second.steps == 4 and second.info["continued_adapter"] == first.artifacts["adapter_dir"]
    assert max(lrs) <= 1e-4 and lrs[-1] < max(lrs)  # cosine decay within the phase
    import json

    config = json.loads((Path(second.artifacts["adapter_dir"]) / "adapter_config.json").read_text())
    assert config["r"] == 8 and set(config["target_modules"]) == set(unified["target_modules"])
