"""Figure (7c): wall time of the tiny-model DPO + SFT smoke run on the real TRL backend (CPU).

Builds the built-in tiny student (2-layer, 64-wide Llama, byte-level BPE trained on the job's texts), runs
DPO with the NLL term (6 steps on 16 pairs) then SFT on the DPO checkpoint (6 steps), and prints the time
of each part, with the one-off import of torch/transformers/trl separately. Skipped without the train
extras. Only sanity is asserted, never timing.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_training_smoke_bench.py -s
"""

import math
import time

import pytest

PAIRS = 16
STEPS = 6


def test_tiny_dpo_sft_smoke_wall_time(tmp_path):
    t0 = time.perf_counter()
    pytest.importorskip("trl")
    import peft  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from trl import DPOTrainer, SFTTrainer  # noqa: F401  (the lazy import the backend pays on first use)

    from training_jobs.backends import get_backend

    import_s = time.perf_counter() - t0
    backend = get_backend("trl")
    pairs = [{"prompt": f"Question {i}: what does the sea mean to you?", "system": "You are Mara.",
              "chosen": f"I'm sorry, forgive me: the sea is my oldest friend and my worry, {i}.",
              "rejected": f"The sea is water. {i}."} for i in range(PAIRS)]
    examples = [{"messages": [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": p["chosen"]}]}
                for p in pairs]
    common = {"student": "tiny", "batch_size": 4, "lora_r": 8, "lora_alpha": 16, "learning_rate": 1e-3,
              "max_steps": STEPS}

    t1 = time.perf_counter()
    dpo = backend.train_dpo(pairs, {**common, "output_dir": str(tmp_path / "dpo"), "nll_coef": 0.1})
    dpo_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    sft = backend.train_sft(examples, {**common, "output_dir": str(tmp_path / "sft"),
                                       "student": dpo.artifacts["base_dir"], "init_adapter": dpo.artifacts["adapter_dir"]})
    sft_s = time.perf_counter() - t2
    total = time.perf_counter() - t0

    assert dpo.steps == STEPS and sft.steps == STEPS
    assert math.isfinite(dpo.final_metrics["loss"]) and math.isfinite(sft.final_metrics["loss"])
    v = dpo.info["versions"]
    print(f"\nBENCH (7c) tiny-model smoke run (TRL {v['trl']}, transformers {v['transformers']}, peft {v['peft']}, "
          f"torch {v['torch']}; {dpo.info['params']} params, vocab {dpo.info['vocab_size']}): "
          f"DPO {STEPS} steps on {PAIRS} pairs {dpo_s:.2f} s, SFT {STEPS} steps {sft_s:.2f} s, "
          f"import of the train stack {import_s:.2f} s, total {total:.2f} s wall")
    print(f"BENCH (7c) DPO loss {dpo.history[0]['loss']:.3f} -> {dpo.final_metrics['loss']:.3f}, "
          f"reward accuracy {dpo.final_metrics['rewards/accuracies']:.2f}, margin {dpo.final_metrics['rewards/margins']:.3f}; "
          f"SFT loss {sft.history[0]['loss']:.3f} -> {sft.final_metrics['loss']:.3f}")
