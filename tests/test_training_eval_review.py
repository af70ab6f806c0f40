"""Human review of a training job's evaluation is opt-in: by default its base-vs-tuned pairs are judged and rated
but never reach the reviewers' queue; launched with "send the evaluation's pairs to reviewers" they do, under
their prompt set's name."""

import pytest

from audits.reviews.models import Comparison, Judgment
from tests.reviews_helpers import add_reviewer, reviewer_api
from tests.test_training_jobs_run import ScriptedBackend
from tests.test_training_pages import form_post
from tests.training_helpers import launch_values
from training_jobs import backends


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"


class VariedBackend(ScriptedBackend):
    """Replies of different richness by model and sample, so the offline judge's votes are not all one way."""

    def sample(self, prompts, config, adapter_dir=None, **kwargs):
        words = 5 if adapter_dir else 8 if config.get("seed") == 2 else 3  # tuned wins samples 0 and 1, base sample 2
        return [" ".join(f"word{chr(97 + i)}x{p[:3]}" for i in range(words)) for p in prompts]


@pytest.fixture
def varied(monkeypatch):
    monkeypatch.setattr(backends, "get_backend", lambda name: VariedBackend())


def training_pairs(persona):
    return Comparison.objects.filter(persona=persona, prompt_set__startswith="training-")


def test_by_default_the_evaluation_is_rated_but_nobody_is_asked_to_review_it(persona, launch, tenant, varied):
    reviewer = add_reviewer(tenant, persona, "rita@example.com")
    job = launch(persona)
    report = job.stages.get(stage="eval").stats["eval"]
    assert job.params["review_eval_pairs"] is False
    assert report["sent_to_reviewers"] is False and report["prompt_set"] is None
    assert not training_pairs(persona).exists() and not Judgment.objects.filter(organization=tenant.org).exists()
    # the judge's ratings are still there, from its votes
    sources = {e["source"]: e for e in report["leaderboard"]}
    assert set(sources) == {"base (tiny)", f"tuned ({job.name}, sft)"}
    assert all(e["votes"] == report["judged"] for e in sources.values())
    # and the reviewer's queue is empty
    assert reviewer_api(reviewer).get("/v1/review-queue/next").json()["item"] is None
    assert 'data-testid="queue-empty"' in reviewer_api(reviewer).client.get("/o/acme/reviews/queue/").content.decode()


def test_opted_in_the_pairs_reach_the_queue_under_their_prompt_set(persona, launch, tenant, varied):
    reviewer = add_reviewer(tenant, persona, "rita@example.com")
    job = launch(persona, review_eval_pairs=True)
    report = job.stages.get(stage="eval").stats["eval"]
    prompt_set = f"training-{str(job.public_id)[:8]}"
    assert report["sent_to_reviewers"] is True and report["prompt_set"] == prompt_set
    assert training_pairs(persona).filter(prompt_set=prompt_set).count() == report["matchups"]
    assert Judgment.objects.filter(comparison__prompt_set=prompt_set, kind=Judgment.Kind.JUDGE).count() == report["judged"]
    api = reviewer_api(reviewer)
    item = api.get("/v1/review-queue/next").json()["item"]
    assert item["prompt_set"] == prompt_set
    page = api.client.get("/o/acme/reviews/queue/").content.decode()
    assert f'data-testid="prompt-set">prompt set <code>{prompt_set}</code>' in page


def test_the_ratings_are_the_same_whether_or_not_the_pairs_are_stored(persona, launch, varied):
    kept_out = launch(persona).stages.get(stage="eval").stats["eval"]
    sent = launch(persona, review_eval_pairs=True).stages.get(stage="eval").stats["eval"]
    strip = lambda board: [{k: v for k, v in e.items() if k != "source"} for e in board]  # noqa: E731 (names differ per job)
    assert strip(kept_out["leaderboard"]) == strip(sent["leaderboard"])
    assert kept_out["outcome"] == sent["outcome"]
    assert (kept_out["wins"]["tuned"], kept_out["wins"]["base"]) == (16, 8)


def test_the_launch_form_offers_the_option_off_and_the_plan_says_what_happens(persona, tenant, client_for):
    client = client_for(tenant.owner)
    page = client.get(f"/o/acme/training/new/?persona={persona.public_id}").content.decode()  # the plan needs a persona
    checkbox = page[page.index('name="review_eval_pairs"') - 40:page.index('name="review_eval_pairs"') + 80]
    assert 'type="checkbox"' in checkbox and "checked" not in checkbox
    assert "Send the evaluation&#x27;s pairs to reviewers" in page or "Send the evaluation's pairs to reviewers" in page
    assert "Evaluation · judged only, nobody is asked to review" in page
    on = client.post("/o/acme/training/new/preflight/", form_post(persona, review_eval_pairs="on")).content.decode()
    assert "Evaluation · its pairs go to the persona&#x27;s reviewers" in on
    off = client.post("/o/acme/training/new/preflight/", form_post(persona)).content.decode()
    assert "Evaluation · judged only, nobody is asked to review" in off


def test_the_form_and_the_api_store_the_choice(persona, tenant, client_for, api_for, django_capture_on_commit_callbacks):
    from training_jobs.models import TrainingJob

    client = client_for(tenant.owner)
    with django_capture_on_commit_callbacks(execute=False):
        client.post("/o/acme/training/new/", form_post(persona, name_suffix="asked", review_eval_pairs="on"))
        client.post("/o/acme/training/new/", form_post(persona, name_suffix="quiet"))
    assert TrainingJob.objects.get(name__endswith="-asked").params["review_eval_pairs"] is True
    assert TrainingJob.objects.get(name__endswith="-quiet").params["review_eval_pairs"] is False

    api = api_for(tenant.org)
    body = {**launch_values(persona), "review_eval_pairs": True}
    assert api.post("/v1/training-jobs/preflight", json=body).json()["review_eval_pairs"] is True
    assert api.post("/v1/training-jobs/preflight", json=launch_values(persona)).json()["review_eval_pairs"] is False
    with django_capture_on_commit_callbacks(execute=False):
        launched = api.post("/v1/training-jobs", json=body)
    assert launched.status_code == 202 and launched.json()["params"]["review_eval_pairs"] is True
    bad = api.post("/v1/training-jobs/preflight", json={**launch_values(persona), "review_eval_pairs": "perhaps"})
    assert bad.status_code == 422 and "review_eval_pairs" in bad.content.decode()
    assert api.get("/v1/training/defaults").json()["review_eval_pairs"] is False
