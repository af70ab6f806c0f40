"""Helpers for the fingerprint tests (distinctiveness, forks): a fingerprint computed through the API with its job run
inline, and the cosine distance computed independently of the studio's code."""

import numpy as np
import pytest

from audits.models import BaselineFingerprint, Fingerprint
from audits.services import BASELINE_SYSTEM_PROMPT


@pytest.fixture
def fingerprint(owner_api, django_capture_on_commit_callbacks):
    """fingerprint(persona_id) → the persona's new Fingerprint, ready (POST /v1/personas/{id}/fingerprint, run inline)."""

    def run(persona_id) -> Fingerprint:
        with django_capture_on_commit_callbacks(execute=True):
            assert owner_api.post(f"/v1/personas/{persona_id}/fingerprint").status_code == 202
        found = Fingerprint.objects.filter(persona__public_id=persona_id).order_by("-id").first()
        assert found.status == "ready", found.error
        return found

    return run


def seed_baseline(org, *, scenarios: int, dimensions: int, embedding_model: str,
                  chat_model: str = "local/smollm2-135m-instruct") -> BaselineFingerprint:
    """The org's generic-assistant baseline for these models and scenarios, stored as a first fingerprint leaves it: the
    fingerprint jobs that follow reuse it instead of having the chat model answer every scenario again as a generic
    assistant (with SmolLM2, as many answers again as the persona's). tests/test_fingerprint_local_model.py has a
    fingerprint compute one."""
    return BaselineFingerprint.objects.create(organization=org, chat_model=chat_model, embedding_model=embedding_model,
                                              scenarios=scenarios, answers=scenarios, vector=[1.0] + [0.0] * (dimensions - 1),
                                              system_prompt=BASELINE_SYSTEM_PROMPT)


def cosine_distance(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
