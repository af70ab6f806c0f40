"""A persona's generation audit attempts, reported by the app that ran them.

Generation runs and their audit steps belong to the pipeline, which registers its source from its
AppConfig.ready(); the audits pages and API read the attempts here, so neither personas nor audits
imports pipeline. An attempt: {run_id, attempt, status, model, scores, overall, passed, threshold,
notes, finished_at}, oldest first.
"""

from typing import Callable

_sources: list[Callable] = []


def register_audit_attempts(source: Callable) -> None:
    """`source(persona)` -> the persona's attempts, oldest first."""
    if source not in _sources:
        _sources.append(source)


def audit_attempts(persona) -> list[dict]:
    return [attempt for source in _sources for attempt in source(persona)]
