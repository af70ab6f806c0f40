"""Helpers for the fingerprint tests (distinctiveness, forks): a fingerprint computed through the API with its job run
inline, and the cosine distance computed independently of the studio's code."""

import numpy as np
import pytest

from audits.models import Fingerprint


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


def cosine_distance(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
