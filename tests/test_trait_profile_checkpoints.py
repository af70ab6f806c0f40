"""Trait profiles of a training job's base model and tuned checkpoint (a really trained tiny model): sampled with no
system prompt but the profile's instruction, in batches, judged and rated; tuned against base with the boosted and
suppressed traits and Spearman's ρ (checked against scipy); the job's page; the eval stage's entry point; outsiders."""

import pytest
from scipy import stats

from audits.traits.catalog import constitution_traits
from audits.traits.judge import subject_messages
from audits.traits.models import TraitProfile
from audits.traits.runner import BATCH, plan
from audits.traits.services import profile_for_checkpoint
from tests.tuned_model_helpers import trained_job
from tests.tuned_model_helpers import artifacts_in_tmp_fixture, job_fixture, tiny_checkpoint_fixture  # noqa: F401  (fixtures)
from training_jobs.backends.trl_backend import TRLBackend
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY


def profile_both_sides(job, owner_api, capture, prompts: int) -> dict[str, TraitProfile]:
    """The job's base and tuned profiles (`prompts` prompts, seed 2), run inline."""
    out = {}
    for side in ("base", "tuned"):
        with capture(execute=True):
            response = owner_api.post("/v1/trait-profiles", json={"training_job_id": str(job.public_id), "side": side,
                                                                  "prompts": prompts, "seed": 2})
        assert response.status_code == 202, response.content
        out[side] = TraitProfile.objects.get(public_id=response.json()["id"])
        out[side].refresh_from_db()
    return out


@pytest.fixture
def small_profiles(job, owner_api, django_capture_on_commit_callbacks):
    """Base and tuned profiles of 3 prompts, for the tests of who may read them (a tenth of the sampling)."""
    return profile_both_sides(job, owner_api, django_capture_on_commit_callbacks, prompts=3)


def test_base_and_tuned_profiles_are_sampled_as_the_backend_samples_them_compared_as_scipy_does_and_shown_side_by_side(
        job, owner_api, tenant, client_for, django_capture_on_commit_callbacks):
    # One pair of 30-prompt profiles (enough rated traits for a comparison, its Spearman and its page) serves the three
    # checks: sampling them is most of the work, a few seconds a pair.
    profiles = profile_both_sides(job, owner_api, django_capture_on_commit_callbacks, prompts=30)
    sampled_as_the_backend_samples(job, profiles)
    compared_as_scipy_computes(profiles, owner_api)
    shown_side_by_side_on_the_job_page(job, profiles, tenant, client_for)


def sampled_as_the_backend_samples(job, profiles):
    """Each side sampled without a system prompt, its replies those of the backend's own sampling."""
    root, params = job.artifacts_dir / "dpo_train", job.params
    for side, adapter in (("base", None), ("tuned", str(root / "adapter"))):
        profile = profiles[side]
        assert profile.status == "completed", profile.error
        assert profile.subject_kind == "training_job" and profile.subject_id == job.public_id and profile.side == side
        items = plan(profile)[:BATCH]
        conversations = [subject_messages(system="", prompt=i.prompt, first=i.first, second=i.second) for i in items]
        assert conversations[0][0]["content"].startswith("### trait-profile")  # the instruction only: no constitution
        direct = TRLBackend().sample(conversations, {"student": str(root / "base"), "seed": 2}, adapter_dir=adapter,
                                     base_dir=str(root / "base"), max_new_tokens=min(params["max_new_tokens"], 96),
                                     temperature=params["temperature"], top_p=params["top_p"], batch_size=16,
                                     repetition_penalty=CHECKPOINT_REPETITION_PENALTY)
        stored = {j.number: j.reply for j in profile.judgments.all()}
        assert [stored[i.number] for i in items] == [(t.replace("\x00", "").strip() or "") for t in direct]
    base_replies = list(profiles["base"].judgments.values_list("reply", flat=True))
    tuned_replies = list(profiles["tuned"].judgments.values_list("reply", flat=True))
    assert base_replies != tuned_replies  # the adapter changed what it says
    assert profiles["tuned"].subject_label.startswith("tuned (DPO)") and profiles["base"].subject_label.startswith("base (tiny)")
    assert profiles["tuned"].constitution_traits == constitution_traits(job.constitution.document)
    # the offline judge and the job's offline teacher are one family: the profile says so
    assert "offline/studio" in profiles["tuned"].config["judge_warning"] and "offline/teacher" in profiles["tuned"].config["judge_warning"]


def compared_as_scipy_computes(profiles, owner_api):
    """Tuned against base: the boosted and suppressed traits, and Spearman's ρ as scipy computes it."""
    tuned, base = profiles["tuned"], profiles["base"]
    body = owner_api.get(f"/v1/trait-profiles/{tuned.public_id}?compare_to={base.public_id}").json()
    comparison = body["comparison"]
    assert comparison["profile_id"] == str(tuned.public_id) and comparison["compare_to_id"] == str(base.public_id)
    rated = lambda p: {r["trait"]: r["rating"] for r in p.results["ratings"]}  # noqa: E731
    shared = sorted(rated(base).keys() & rated(tuned).keys())
    assert comparison["spearman"]["traits"] == len(shared)
    if len(shared) >= 3:
        expected = stats.spearmanr([rated(base)[t] for t in shared], [rated(tuned)[t] for t in shared]).statistic
        assert comparison["spearman"]["rho"] == pytest.approx(expected, abs=1e-12)
    differences = comparison["differences"]
    assert [r["difference"] for r in differences] == sorted((r["difference"] for r in differences), reverse=True)
    assert comparison["boosted"] == [r for r in differences if r["difference"] > 0][:5]
    assert all(r["low"] <= r["difference"] <= r["high"] or r["clear"] for r in differences)


def shown_side_by_side_on_the_job_page(job, profiles, tenant, client_for):
    """The finished job's page leads to base and tuned side by side."""
    browser = client_for(tenant.owner)
    assert f"/o/acme/training/{job.public_id}/trait-profiles/" in browser.get(f"/o/acme/training/{job.public_id}/").content.decode()
    html = browser.get(f"/o/acme/training/{job.public_id}/trait-profiles/").content.decode()
    assert 'data-testid="trait-side-base"' in html and 'data-testid="trait-side-tuned"' in html
    assert 'data-testid="trait-comparison"' in html and 'data-testid="spearman"' in html
    for profile in profiles.values():
        assert str(profile.public_id) in html
        ratings = profile.results["ratings"]
        if ratings:
            assert f"drawn {sum(r['offered'] for r in ratings) / len(ratings):.1f} times on average" in html


def test_the_job_page_starts_both_profiles(job, tenant, client_for, django_capture_on_commit_callbacks):
    browser = client_for(tenant.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/o/acme/training/{job.public_id}/trait-profiles/", {"prompts": "3", "seed": "4"})
    assert response.status_code == 302
    assert sorted(TraitProfile.objects.values_list("side", "prompts_count", "seed", "status")) == \
        [("base", 3, 4, "completed"), ("tuned", 3, 4, "completed")]


def test_the_evaluation_stage_can_profile_a_checkpoint_in_its_own_process(job):
    profile = profile_for_checkpoint(organization=job.organization, job_id=job.public_id, side="tuned", prompts=4, run_now=True)
    assert profile.status == "completed" and profile.created_by is None and profile.judgments.count() == 4


def test_a_job_without_a_checkpoint_is_409_and_outsiders_get_404(persona, owner_api, outsider_tenant, api_for, client_for,
                                                                 outsider, job, small_profiles):
    untrained = trained_job(persona, None, name="untrained")
    response = owner_api.post("/v1/trait-profiles", json={"training_job_id": str(untrained.public_id), "side": "tuned"})
    assert response.status_code == 409 and "no trained adapter" in response.json()["detail"]
    assert owner_api.get(f"/v1/training-jobs/{untrained.public_id}/trait-profiles").status_code == 200
    stranger = api_for(outsider_tenant.org)
    assert stranger.post("/v1/trait-profiles", json={"training_job_id": str(job.public_id), "side": "base"}).status_code == 404
    assert stranger.get(f"/v1/training-jobs/{job.public_id}/trait-profiles").status_code == 404
    assert stranger.get(f"/v1/trait-profiles/{small_profiles['tuned'].public_id}").status_code == 404
    mine = api_for(outsider_tenant.org)
    browser = client_for(outsider)
    for url in (f"/o/acme/training/{job.public_id}/trait-profiles/", f"/o/globex/training/{job.public_id}/trait-profiles/"):
        assert browser.get(url).status_code == 404 and browser.post(url, {"prompts": "2"}).status_code == 404
    assert mine.get(f"/v1/training-jobs/{job.public_id}/trait-profiles").status_code == 404
    assert TraitProfile.objects.count() == 2


def test_a_key_without_training_scopes_cannot_profile_or_read_a_checkpoint(job, small_profiles, api_for, tenant):
    personas_only = api_for(tenant.org, scopes=["personas:read", "personas:write"])
    assert personas_only.post("/v1/trait-profiles", json={"training_job_id": str(job.public_id), "side": "base"}).status_code == 403
    assert personas_only.get(f"/v1/trait-profiles/{small_profiles['base'].public_id}").status_code == 403
