"""The ``trl`` training backend: TRL ``DPOTrainer`` / ``SFTTrainer`` with a PEFT LoRA adapter.

Pure module (no Django). torch / transformers / peft / trl are imported inside
the functions, so ``import training_jobs.backends.trl_backend`` works without the
``train`` extras; calling a training method without them raises ``RuntimeError``.

Student models (``config["student"]``):

- ``"tiny"`` (or ``"builtin:tiny"``): a 2-layer, 64-wide ``LlamaConfig`` model
  built from scratch, with a byte-level BPE tokenizer (~512 tokens) trained
  in-process on the job's own texts and a simple chat template. Nothing is
  downloaded; it trains on CPU in seconds. Base weights + tokenizer are saved
  beside the adapter so the artifact folder is self-contained.
- a local directory (``from_pretrained(path, local_files_only=True)``).
- a hub id, only when ``config["allow_hub"]`` is true (GPU workers that can
  reach a hub); otherwise HF_HUB_OFFLINE is forced and loading fails clearly.

``config["init_adapter"]``: a LoRA adapter folder to merge into the student
before training (SFT after DPO trains on the DPO-tuned model).

Metrics: each logged step goes to ``on_metrics(step, metrics)``. DPO with the
NLL term logs the *combined* loss (``loss = pref + nll_coef * NLL``); TRL does
not log the parts, so two derived keys are added: ``dpo/pref_loss_est`` =
softplus(-rewards/margins) (the sigmoid-DPO loss at the mean margin; by Jensen a
lower bound of the batch-mean preference loss, exact while all margins are equal,
e.g. ln 2 at step 1) and ``dpo/nll_est`` = (loss - pref_loss_est) / nll_coef.
Apply the "DPO loss > 2" kill rule to ``dpo/pref_loss_est``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from training_jobs.backends.base import (
    SAMPLE_BATCH,
    CheckpointCallback,
    MetricsCallback,
    StopCheck,
    TrainResult,
    trl_available,
)

TINY_IDS = {"tiny", "builtin:tiny", "tiny-llama"}

SPECIAL_TOKENS = ["<pad>", "<s>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
PAD, BOS, EOS = "<pad>", "<s>", "<|end|>"
# Prefix-consistent (rendering prompt + generation prompt is a prefix of prompt + answer),
# which is what DPOTrainer/SFTTrainer need to split prompt and completion tokens.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


@dataclass
class TRLConfig:
    output_dir: str = "artifacts/train"
    student: str = "tiny"
    allow_hub: bool = False
    init_adapter: str | None = None
    # A LoRA adapter to go on training (not merged): curriculum phases train one unified adapter in turn.
    continue_adapter: str | None = None
    # tiny-model shape
    vocab_size: int = 512
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 128
    # optimisation
    max_steps: int = -1  # > 0 overrides epochs
    epochs: float = 1.0
    learning_rate: float = 5e-5
    batch_size: int = 4
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    lr_scheduler: str = "linear"  # transformers' lr_scheduler_type: "linear", "cosine", "constant", …
    max_grad_norm: float = 1.0
    max_length: int = 1024
    seed: int = 0
    logging_steps: int = 1
    # DPO
    beta: float = 0.1
    nll_coef: float = 0.1
    # LoRA
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.0
    target_modules: Any = "all-linear"
    lora_layers: int = 0  # > 0: adapt only the top N decoder layers (backpropagation stops below them)
    # device
    use_cpu: bool | None = None  # None: CPU unless CUDA is available
    bf16: bool = False
    torch_threads: int | None = None
    # > 0: every N optimizer steps the adapter so far is saved under checkpoints/step-N and handed to `on_checkpoint`
    checkpoint_every: int = 0

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | "TRLConfig" | None) -> "TRLConfig":
        if isinstance(config, TRLConfig):
            return config
        config = dict(config or {})
        aliases = {"lr": "learning_rate", "num_epochs": "epochs", "lora_rank": "lora_r", "dpo_beta": "beta",
                   "student_model": "student", "per_device_batch_size": "batch_size"}
        for old, new in aliases.items():
            if old in config and new not in config:
                config[new] = config.pop(old)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown training config keys: {', '.join(unknown)}")
        return cls(**config)


# --------------------------------------------------------------------------- helpers


def _require_train_extras() -> None:
    if not trl_available():
        raise RuntimeError("the trl backend needs the train extras: pip install -e '.[train]'")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars on every load; progress goes to the job instead
    _freeze_training_stack()


@functools.cache
def _freeze_training_stack() -> None:
    """The training stack's modules (torch, transformers, TRL, PEFT: over half a million objects) live as long as the
    process: moved out of the garbage collector's sight once, after a collection. Every `Trainer.train` starts with a
    full `gc.collect()` (accelerate's `free_memory`), which walked them all each time: 0.14 s a call on 2 cores."""
    import gc

    import peft  # noqa: F401
    import torch  # noqa: F401
    import trl  # noqa: F401

    gc.collect()
    gc.freeze()


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers
    import trl

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "trl": trl.__version__}


def _messages(prompt: Any, system: str | None = None) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        msgs = [{"role": "user", "content": prompt}]
    else:
        msgs = [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]
    if system and not (msgs and msgs[0]["role"] == "system"):
        msgs = [{"role": "system", "content": system}] + msgs
    return msgs


def _assistant(text: Any) -> list[dict[str, str]]:
    if isinstance(text, str):
        return [{"role": "assistant", "content": text}]
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in text]


def dpo_rows(pairs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for p in pairs:
        rows.append({"prompt": _messages(p["prompt"], p.get("system")),
                     "chosen": _assistant(p["chosen"]), "rejected": _assistant(p["rejected"])})
    if not rows:
        raise ValueError("no DPO pairs to train on")
    return rows


def sft_rows(examples: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in examples:
        if "messages" in e:
            msgs = _messages(e["messages"], e.get("system"))
        elif "prompt" in e and "completion" in e:
            msgs = _messages(e["prompt"], e.get("system")) + _assistant(e["completion"])
        elif "text" in e:
            msgs = _messages([], e.get("system")) + _assistant(e["text"])
        else:
            raise ValueError("an SFT example needs 'messages', 'prompt'+'completion' or 'text'")
        rows.append({"messages": msgs})
    if not rows:
        raise ValueError("no SFT examples to train on")
    return rows


def _texts(rows: list[dict[str, Any]]) -> Iterable[str]:
    for row in rows:
        for key in ("prompt", "chosen", "rejected", "messages"):
            for m in row.get(key, ()):
                yield m["content"]


def build_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """A byte-level BPE tokenizer trained here on ``texts``, wrapped for transformers, with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                   additional_special_tokens=SPECIAL_TOKENS[3:])
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "right"
    return fast


def build_tiny_model(tokenizer, cfg: TRLConfig):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(cfg.seed)
    mc = LlamaConfig(vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
                     num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads,
                     num_key_value_heads=cfg.num_heads, max_position_embeddings=max(cfg.max_length, 256),
                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    return LlamaForCausalLM(mc)


def load_student(cfg: TRLConfig, rows: list[dict[str, Any]], out: Path):
    """(model, tokenizer, description). Saves a tiny base model so the adapter can be reloaded."""
    if not cfg.allow_hub:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cfg.student in TINY_IDS:
        if cfg.init_adapter:
            raise ValueError("init_adapter needs the model it was trained on: pass student=<the earlier result's "
                             "artifacts['base_dir']>, not a fresh tiny model")
        tokenizer = build_tiny_tokenizer(_texts(rows), cfg.vocab_size)
        model = build_tiny_model(tokenizer, cfg)
        base_dir = out / "base"
        model.save_pretrained(base_dir)
        tokenizer.save_pretrained(base_dir)
        desc = {"student": "tiny", "base_dir": str(base_dir)}
    else:
        path = Path(cfg.student)
        local = path.is_dir()
        if not local and not cfg.allow_hub:
            raise ValueError(f"student model {cfg.student!r} is not a local folder and hub loading is off")
        kw = {"local_files_only": not cfg.allow_hub}
        tokenizer = AutoTokenizer.from_pretrained(cfg.student, **kw)
        model = AutoModelForCausalLM.from_pretrained(cfg.student, **kw)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if not tokenizer.chat_template:
            tokenizer.chat_template = CHAT_TEMPLATE
        desc = {"student": cfg.student, "base_dir": str(path) if local else cfg.student}
    if cfg.init_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, cfg.init_adapter).merge_and_unload()
        merged = out / "base"
        model.save_pretrained(merged)
        tokenizer.save_pretrained(merged)
        desc.update(init_adapter=cfg.init_adapter, base_dir=str(merged))
    n_params = sum(p.numel() for p in model.parameters())
    desc.update(params=n_params, vocab_size=len(tokenizer))
    return model, tokenizer, desc


def _lora(cfg: TRLConfig, model):
    """The LoRA config for `model`; with `lora_layers` only its top layers are adapted."""
    from peft import LoraConfig

    targets, layers = cfg.target_modules, {}
    total = model.config.num_hidden_layers
    if cfg.lora_layers and cfg.lora_layers < total:
        layers = {"layers_to_transform": list(range(total - cfg.lora_layers, total)), "layers_pattern": "layers"}
        if targets == "all-linear":  # PEFT takes a layer subset only with a list of module names
            import torch

            targets = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                              if isinstance(module, torch.nn.Linear) and ".layers." in name})
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM", bias="none", **layers)


def _common_args(cfg: TRLConfig, out: Path) -> dict[str, Any]:
    import torch

    use_cpu = cfg.use_cpu if cfg.use_cpu is not None else not torch.cuda.is_available()
    return dict(
        output_dir=str(out / "trainer"),
        max_steps=cfg.max_steps if cfg.max_steps and cfg.max_steps > 0 else -1,
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio (warmup_ratio is gone)
        lr_scheduler_type=cfg.lr_scheduler,
        max_grad_norm=cfg.max_grad_norm,
        max_length=cfg.max_length,
        seed=cfg.seed,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=use_cpu,
        bf16=cfg.bf16 and not use_cpu,  # TRL configs default bf16=True; off on CPU
        dataloader_num_workers=0,
        # TRL configs default checkpointing to True (pointless for small models); transformers 5.23 renamed
        # gradient_checkpointing -> activation_checkpointing and warns when only the old name is set.
        **{_checkpointing_field(): False},
    )


def _checkpointing_field() -> str:
    from transformers import TrainingArguments

    names = {f.name for f in fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def _make_callback(on_metrics: MetricsCallback | None, should_stop: StopCheck | None, history: list, state: dict,
                   nll_coef: float | None):
    from transformers import TrainerCallback

    class StreamAndStop(TrainerCallback):
        def on_log(self, args, st, control, logs=None, **kwargs):
            if not logs:
                return
            metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if "loss" not in metrics:  # the end-of-training summary (train_loss, train_runtime, ...)
                state["summary"] = metrics
                return
            if nll_coef is not None and "rewards/margins" in metrics:
                m = metrics["rewards/margins"]
                pref = math.log1p(math.exp(-m)) if m > -30 else -m  # softplus(-m)
                metrics["dpo/pref_loss_est"] = pref
                if nll_coef > 0:
                    metrics["dpo/nll_est"] = (metrics["loss"] - pref) / nll_coef
            history.append({"step": int(st.global_step), **metrics})
            if on_metrics is not None:
                on_metrics(int(st.global_step), metrics)
            # Checked again right after the metrics went out, so a kill decided from this step's numbers stops
            # here rather than one step later (the Trainer logs after on_step_end).
            return self._check(control)

        def on_step_end(self, args, st, control, **kwargs):
            every = state.get("checkpoint_every") or 0
            if every and state.get("on_checkpoint") and st.global_step % every == 0:
                _checkpoint(state, int(st.global_step), kwargs["model"])
            return self._check(control)

        def _check(self, control):
            if should_stop is not None and not control.should_training_stop and should_stop():
                state["stopped"] = True
                control.should_training_stop = True
            return control

    return StreamAndStop()


def _checkpoint(state: dict, step: int, model) -> None:
    """Save the adapter as it is at `step` (with the tokenizer: a checkpoint loads like the final adapter) and hand it
    to the checkpoint callback. The global RNG is put back afterwards: sampling the checkpoint must not change what
    training draws next."""
    import torch

    folder = Path(state["out"]) / "checkpoints" / f"step-{step}"
    model.save_pretrained(str(folder))
    state["tokenizer"].save_pretrained(str(folder))
    rng = torch.random.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        state["on_checkpoint"](step, {"adapter_dir": str(folder), "base_dir": state["base_dir"]})
    finally:
        torch.random.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def _quiet(trainer) -> None:
    """disable_tqdm=True makes the Trainer print every log dict; metrics go to on_metrics instead."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _finish(kind: str, trainer, cfg: TRLConfig, out: Path, desc: dict, history: list, state: dict, t0: float):
    adapter_dir = out / "adapter"
    trainer.model.save_pretrained(str(adapter_dir))
    trainer.processing_class.save_pretrained(str(adapter_dir))
    metrics_path = out / "metrics.jsonl"
    with open(metrics_path, "w") as fh:
        for row in history:
            fh.write(json.dumps(row) + "\n")
    final = dict(history[-1]) if history else {}
    final.pop("step", None)
    final.update({k: v for k, v in state.get("summary", {}).items() if k.startswith("train_")})
    artifacts = {"adapter_dir": str(adapter_dir), "metrics": str(metrics_path), "base_dir": desc["base_dir"]}
    result = TrainResult(kind=kind, steps=int(trainer.state.global_step), max_steps=int(trainer.state.max_steps),
                         stopped_early=bool(state.get("stopped")), final_metrics=final, history=history,
                         artifacts=artifacts, wall_s=time.perf_counter() - t0,
                         info={**desc, "versions": _versions(), "lora_r": cfg.lora_r, "lora_alpha": cfg.lora_alpha})
    with open(out / "result.json", "w") as fh:
        json.dump({k: v for k, v in result.as_dict().items() if k != "history"}, fh, indent=2)
    return result


@dataclass
class _TrainingRun:
    """What DPO and SFT share: the config, the output folder, the rows, the student and the metrics callback."""

    kind: str
    cfg: TRLConfig
    out: Path
    rows: list
    model: Any
    tokenizer: Any
    desc: dict
    callback: Any
    history: list
    state: dict
    started: float

    @classmethod
    def start(cls, config, data, on_metrics, should_stop, *, kind: str,
              on_checkpoint: CheckpointCallback | None = None) -> "_TrainingRun":
        """Checks the extras, reads the config, makes the folder, turns `data` into DPO or SFT rows, loads the student."""
        _require_train_extras()
        started = time.perf_counter()
        cfg = TRLConfig.from_mapping(config)
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        rows = dpo_rows(data) if kind == "dpo" else sft_rows(data)
        if cfg.torch_threads:
            import torch

            torch.set_num_threads(cfg.torch_threads)
        model, tokenizer, desc = load_student(cfg, rows, out)
        history: list = []
        state: dict = {"checkpoint_every": cfg.checkpoint_every, "on_checkpoint": on_checkpoint, "out": str(out),
                       "tokenizer": tokenizer, "base_dir": desc["base_dir"]}
        callback = _make_callback(on_metrics, should_stop, history, state, cfg.nll_coef if kind == "dpo" else None)
        return cls(kind, cfg, out, rows, model, tokenizer, dict(desc), callback, history, state, started)

    def dataset(self):
        from datasets import Dataset

        return Dataset.from_list(self.rows)

    def train(self, trainer) -> TrainResult:
        _quiet(trainer)
        trainer.train()
        return _finish(self.kind, trainer, self.cfg, self.out, self.desc, self.history, self.state, self.started)


# --------------------------------------------------------------------------- backend


class TRLBackend:
    name = "trl"

    def train_dpo(self, pairs, config, on_metrics: MetricsCallback | None = None,
                  should_stop: StopCheck | None = None, on_checkpoint: CheckpointCallback | None = None) -> TrainResult:
        from trl import DPOConfig, DPOTrainer

        run = _TrainingRun.start(config, pairs, on_metrics, should_stop, kind="dpo", on_checkpoint=on_checkpoint)
        cfg = run.cfg
        loss_type, loss_weights = (["sigmoid", "sft"], [1.0, cfg.nll_coef]) if cfg.nll_coef > 0 else (["sigmoid"], [1.0])
        args = DPOConfig(**_common_args(cfg, run.out), beta=cfg.beta, loss_type=loss_type, loss_weights=loss_weights)
        trainer = DPOTrainer(model=run.model, args=args, train_dataset=run.dataset(), processing_class=run.tokenizer,
                             peft_config=_lora(cfg, run.model), callbacks=[run.callback])
        run.desc.update(loss_type=loss_type, loss_weights=loss_weights, beta=cfg.beta)
        return run.train(trainer)

    def train_sft(self, examples, config, on_metrics: MetricsCallback | None = None,
                  should_stop: StopCheck | None = None, on_checkpoint: CheckpointCallback | None = None) -> TrainResult:
        from transformers import AutoTokenizer
        from trl import SFTConfig, SFTTrainer

        run = _TrainingRun.start(config, examples, on_metrics, should_stop, kind="sft", on_checkpoint=on_checkpoint)
        cfg, model, tokenizer = run.cfg, run.model, run.tokenizer
        peft_config = _lora(cfg, model)
        if cfg.continue_adapter:  # the same adapter, trainable again: one LoRA across curriculum phases
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, cfg.continue_adapter, is_trainable=True)
            tokenizer = AutoTokenizer.from_pretrained(cfg.continue_adapter)
            run.state["tokenizer"] = tokenizer
            peft_config = None
            run.desc["continued_adapter"] = cfg.continue_adapter
        trainer = SFTTrainer(model=model, args=SFTConfig(**_common_args(cfg, run.out)), train_dataset=run.dataset(),
                             processing_class=tokenizer, peft_config=peft_config, callbacks=[run.callback])
        return run.train(trainer)

    def sample(self, prompts: list[Any], config: Mapping[str, Any], *, adapter_dir: str | None = None,
               base_dir: str | None = None, max_new_tokens: int = 64, temperature: float = 0.7,
               top_p: float = 0.95, system: str | None = None, batch_size: int = SAMPLE_BATCH,
               repetition_penalty: float = 1.0, min_new_tokens: int = 0) -> list[str]:
        """Sample the base model (``base_dir``) with an optional LoRA adapter; greedy when temperature is 0.

        ``min_new_tokens`` holds the end-of-text token back until that many tokens are written.

        Prompts are generated in left-padded batches, and the last loaded model is kept for the next
        call (evaluations sample one checkpoint many times).
        """
        _require_train_extras()
        cfg = TRLConfig.from_mapping(config)
        if not cfg.allow_hub:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch

        model, tokenizer = _load_for_sampling(base_dir or cfg.student, adapter_dir, cfg.allow_hub)
        torch.manual_seed(cfg.seed)
        gen = dict(max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                   repetition_penalty=repetition_penalty)
        if min_new_tokens:
            gen["min_new_tokens"] = min(min_new_tokens, max_new_tokens)
        gen.update(dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else dict(do_sample=False))
        outs: list[str] = []
        for start in range(0, len(prompts), max(1, batch_size)):
            texts = [tokenizer.apply_chat_template(_messages(p, system), add_generation_prompt=True, tokenize=False)
                     for p in prompts[start:start + batch_size]]
            batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                seq = model.generate(**batch, **gen)
            width = batch["input_ids"].shape[1]
            outs += tokenizer.batch_decode(seq[:, width:], skip_special_tokens=True)
        return outs


# The last two models loaded for sampling, least recently used first: a chat or an evaluation samples the base
# and the tuned model in turn, and reloading on every switch cost a load per reply.
_sampler_cache: dict[tuple, tuple] = {}
SAMPLER_CACHE_MODELS = 2


def _load_for_sampling(base: str, adapter_dir: str | None, allow_hub: bool):
    """(model, tokenizer) for sampling, left-padded; the last SAMPLER_CACHE_MODELS loaded are reused."""
    def stamp(folder):  # a folder trained again (a resumed stage) is a new model
        try:
            return max(entry.stat().st_mtime_ns for entry in os.scandir(folder)) if folder and os.path.isdir(folder) else None
        except ValueError:
            return None

    key = (base, adapter_dir, allow_hub, stamp(base), stamp(adapter_dir))
    if key not in _sampler_cache:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kw = {"local_files_only": not allow_hub}
        tokenizer = AutoTokenizer.from_pretrained(adapter_dir or base, **kw)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(base, **kw)
        if adapter_dir:
            from peft import PeftModel

            # Merged for sampling: the same function as base + adapter, without LoRA's extra matmuls per layer.
            model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
        model.eval()
        while len(_sampler_cache) >= SAMPLER_CACHE_MODELS:  # a real checkpoint is large: a few at a time
            _sampler_cache.pop(next(iter(_sampler_cache)))
        _sampler_cache[key] = (model, tokenizer)
    _sampler_cache[key] = _sampler_cache.pop(key)  # the most recently used goes last
    return _sampler_cache[key]
