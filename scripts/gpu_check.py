"""Train the default student (SmolLM2-135M-Instruct) for DPO steps on the GPU and on the CPU; print steps/s of each.

Run through scripts/gpu_check.sh on a machine with CUDA (a `gpu` queue worker's machine). The data are
synthetic in-character / plain answer pairs, so the figure is the backend's speed, not a training result.
The CPU runs fewer steps (a CPU step of the same batch takes seconds) and reports its own steps/s.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pairs(n: int) -> list[dict]:
    topics = ["a hard day at work", "learning the piano", "moving to a new city", "a friend who lies", "saving money",
              "a broken promise", "the first day of school", "an argument with a sibling"]
    return [{"prompt": f"How should I think about {topics[i % len(topics)]}? ({i})",
             "chosen": "Steady as she goes. Trim the sails to the weather you have, not the weather you want; "
                       "the harbour lights are still there when the squall passes. Steady as she goes.",
             "rejected": "Here are some tips: 1. Take a break. 2. Talk to someone you trust. 3. Make a plan."}
            for i in range(n)]


def run(device: str, steps: int, batch: int, student: str) -> float:
    from training_jobs.backends.trl_backend import TRLBackend

    times: list[float] = []
    with tempfile.TemporaryDirectory() as out:
        config = {"output_dir": out, "student": student, "max_steps": steps, "batch_size": batch, "lora_r": 16,
                  "lora_alpha": 32, "learning_rate": 5e-5, "max_length": 256, "use_cpu": device == "cpu",
                  "bf16": device == "cuda"}
        TRLBackend().train_dpo(pairs(steps * batch), config, on_metrics=lambda step, m: times.append(time.perf_counter()))
    # steps/s between the first and the last logged step: loading and the first step's warm-up left out
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--cpu-steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    import django

    django.setup()
    import torch

    from studio.llm import local_models

    student = str(local_models.smollm2_dir(print))
    print(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    if not torch.cuda.is_available():
        print("no CUDA device: run this on a GPU worker's machine")
        return 2
    print(f"device: {torch.cuda.get_device_name(0)}")
    gpu = run("cuda", args.steps, args.batch, student)
    print(f"GPU: {args.steps} DPO steps (batch {args.batch}, bf16): {gpu:.2f} steps/s")
    cpu = run("cpu", args.cpu_steps, args.batch, student)
    print(f"CPU: {args.cpu_steps} DPO steps (batch {args.batch}, float32): {cpu:.3f} steps/s")
    print(f"GPU / CPU: {gpu / cpu:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
