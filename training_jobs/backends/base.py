"""The training backend interface: what a backend returns and the callbacks it reports through (no Django)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

# Prompts per `model.generate` call when a checkpoint is sampled (left-padded batches): evaluation, introspection
# and the behavioral-range replies all go through `sample(..., batch_size=)`, which defaults to this.
SAMPLE_BATCH = 16

MetricsCallback = Callable[[int, dict[str, float]], None]
StopCheck = Callable[[], bool]
# (step, {"adapter_dir", "base_dir"}): a checkpoint saved mid-training, to evaluate (config["checkpoint_every"] > 0)
CheckpointCallback = Callable[[int, dict[str, str]], None]


@dataclass
class TrainResult:
    """What one training stage produced."""

    kind: str  # "dpo" | "sft"
    steps: int  # optimizer steps actually taken
    max_steps: int  # steps planned
    stopped_early: bool  # should_stop() ended it
    final_metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # every logged step, with "step"
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> path
    wall_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)  # versions, vocab size, model description, ...

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "steps": self.steps,
            "max_steps": self.max_steps,
            "stopped_early": self.stopped_early,
            "final_metrics": dict(self.final_metrics),
            "history": [dict(h) for h in self.history],
            "artifacts": dict(self.artifacts),
            "wall_s": self.wall_s,
            "info": dict(self.info),
        }


@runtime_checkable
class TrainingBackend(Protocol):
    name: str

    def train_dpo(
        self,
        pairs: Iterable[Mapping[str, Any]],
        config: Mapping[str, Any],
        on_metrics: MetricsCallback | None = None,
        should_stop: StopCheck | None = None,
        on_checkpoint: CheckpointCallback | None = None,  # only passed when config asks for checkpoints
    ) -> TrainResult: ...

    def train_sft(
        self,
        examples: Iterable[Mapping[str, Any]],
        config: Mapping[str, Any],
        on_metrics: MetricsCallback | None = None,
        should_stop: StopCheck | None = None,
        on_checkpoint: CheckpointCallback | None = None,  # only passed when config asks for checkpoints
    ) -> TrainResult: ...


class SamplingBackend(Protocol):
    """Optional: backends that can sample the checkpoint they trained."""

    def sample(self, prompts: list[Any], config: Mapping[str, Any], **kwargs: Any) -> list[str]: ...


def can_sample(backend: object) -> bool:
    return callable(getattr(backend, "sample", None))


def trl_available() -> bool:
    """True when the ``train`` extras (torch, transformers, peft, trl) are importable."""
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("torch", "transformers", "peft", "trl", "tokenizers", "datasets"))
    except (ImportError, ValueError):
        return False
