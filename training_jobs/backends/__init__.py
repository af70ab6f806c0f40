"""Training backends behind one interface (SPEC §7, issue 7 point 9).

A backend is a plain object (no Django) that trains a student model on data the
pipeline already produced and reports back through two callables:

- ``on_metrics(step, metrics)`` is called for every logged optimizer step with a
  flat ``{name: float}`` dict (``loss``, ``rewards/accuracies``,
  ``rewards/margins``, ``learning_rate``, ...). The job uses it to stream progress
  and to evaluate kill criteria.
- ``should_stop()`` is polled after every step; returning True (cancel, kill)
  ends training at that step. The adapter trained so far is still saved.

Data shapes:

- DPO pairs: ``{"prompt": str | [messages], "chosen": str, "rejected": str}``
  (an optional ``"system"`` string is prepended as a system message).
- SFT examples: ``{"messages": [{"role", "content"}, ...]}`` or
  ``{"prompt": str, "completion": str}`` (optional ``"system"`` too).

Backends are looked up by name with :func:`get_backend`; heavy imports (torch,
transformers, trl) happen inside the backend's methods, so importing this
package never needs the ``train`` extras.
"""

from __future__ import annotations

from training_jobs.backends.base import (
    MetricsCallback,
    SamplingBackend,
    StopCheck,
    TrainingBackend,
    TrainResult,
    can_sample,
    trl_available,
)


def get_backend(name: str) -> TrainingBackend:
    if name == "trl":
        from training_jobs.backends.trl_backend import TRLBackend

        return TRLBackend()
    raise KeyError(f"unknown training backend {name!r}")


__all__ = [
    "MetricsCallback",
    "StopCheck",
    "TrainResult",
    "TrainingBackend",
    "SamplingBackend",
    "can_sample",
    "trl_available",
    "get_backend",
]
