"""Issue 20.1, the training side: a job can profile base and tuned by revealed preference in its evaluation stage
(launch option eval_trait_profile_prompts: 0 off, else 20–500), links both profiles from its report and page and
shows the traits training boosted and suppressed with Spearman's ρ, as the traits app computes them."""

import hashlib

import pytest
from django.template.defaultfilters import floatformat
from scipy.stats import spearmanr

from audits.traits.models import TraitJudgment, TraitProfile
from audits.traits.selectors import profile_comparison, ratings_by_trait
from tests.test_training_pages import form_post
from tests.training_helpers import launch_values
from training_jobs import trait_eval
from training_jobs.models import JobStatus

PROMPTS = 20  # the least the option allows: CI time


@pytest.fixture
def reply_judge(monkeypatch):
    """The seam: the judging. The tiny model writes bytes no judge can read a trait from (the offline judge then names
    the first trait listed, so both orders disagree and every pair is dropped); this judge names, in both orders, the
    trait a hash of the reply picks — the same reply always shows the same trait. Sampling, storage, the ratings and
    the comparison are real."""
    from audits.traits import runner

    async def ask(profile, asks, config):
        out = []
        for item, a, b in asks:
            pair = sorted((a, b))
            out.append(pair[hashlib.sha256(item.reply.encode()).digest()[0] % 2])
        return out

    monkeypatch.setattr(runner, "_ask", ask)


def test_a_job_with_the_option_ends_with_base_and_tuned_profiles_linked_from_its_report_and_page(persona, launch, tenant,
                                                                                                  client_for, reply_judge, owner_api):
    job = launch(persona, eval_trait_profile_prompts=PROMPTS)

    assert job.status == JobStatus.SUCCEEDED, job.error
    stage = job.stages.get(stage="eval")
    report = stage.stats["eval"]["trait_profiles"]
    assert report["error"] == "" and report["prompts"] == PROMPTS and report["seed"] == 0
    base = TraitProfile.objects.get(public_id=report["base"]["id"])
    tuned = TraitProfile.objects.get(public_id=report["tuned"]["id"])
    assert TraitProfile.objects.filter(subject_id=job.public_id).count() == 2
    for side, profile in (("base", base), ("tuned", tuned)):
        assert profile.status == TraitProfile.Status.COMPLETED and profile.side == side
        assert profile.organization_id == job.organization_id and profile.subject_kind == "training_job"
        assert profile.prompts_count == PROMPTS == profile.progress_done == profile.judgments.count()
        assert report[side]["status"] == "completed"
    # comparable: the same prompts, trait pairs and seed on both sides
    plan = lambda p: list(p.judgments.values_list("prompt_index", "first", "second"))  # noqa: E731
    assert base.seed == tuned.seed == 0 and plan(base) == plan(tuned)
    assert not TraitJudgment.objects.filter(profile__in=(base, tuned), outcome="no_reply").exists()

    # the figures are the traits app's own comparison of the two profiles
    expected = profile_comparison(base, tuned)
    stored = report["comparison"]
    keep = ("trait", "difference", "low", "high", "clear", "constitution")
    assert stored["boosted"] == [{k: r[k] for k in keep} for r in expected["boosted"]]
    assert stored["suppressed"] == [{k: r[k] for k in keep} for r in expected["suppressed"]]
    assert stored["traits_compared"] == len(expected["differences"]) > 0
    before, after = ratings_by_trait(base), ratings_by_trait(tuned)
    shared = sorted(before.keys() & after.keys())
    assert stored["spearman"]["traits"] == len(shared)
    if stored["spearman"]["rho"] is not None:
        assert stored["spearman"]["rho"] == pytest.approx(spearmanr([before[t] for t in shared], [after[t] for t in shared]).statistic)
    for row in stored["boosted"]:
        assert row["difference"] >= 0.5 and row["low"] <= row["high"]
    for row in stored["suppressed"]:
        assert row["difference"] <= -0.5 and row["low"] <= row["high"]

    # the stage's progress counted the profiles' replies and both judge orders
    units = 2 * 3 * PROMPTS
    assert stage.total == stage.done == 4 * stage.stats["eval"]["matchups"] + units == 4 * 24 + units

    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert 'data-testid="eval-trait-profiles"' in page
    assert f'href="/o/acme/trait-profiles/{base.public_id}/"' in page and f'href="/o/acme/trait-profiles/{tuned.public_id}/"' in page
    rho = stored["spearman"]["rho"]
    assert f'data-testid="eval-spearman">{"—" if rho is None else f"{rho:.3f}"}<' in page
    for row in stored["boosted"] + stored["suppressed"]:
        assert f'data-trait="{row["trait"]}"' in page and f"{floatformat(row['low'], 0)} to {floatformat(row['high'], 0)}" in page
    # the API's job detail carries the report; each profile reads back through the traits API
    body = owner_api.get(f"/v1/training-jobs/{job.public_id}").json()
    eval_stage = next(s for s in body["stages"] if s["stage"] == "eval")
    assert eval_stage["stats"]["eval"]["trait_profiles"] == report
    assert owner_api.get(f"/v1/trait-profiles/{tuned.public_id}").json()["status"] == "completed"
    print("\ntrait profile figures:", {"rho": rho, "traits": stored["spearman"]["traits"],
                                        "boosted": [(r["trait"], round(r["difference"], 1), round(r["low"], 1), round(r["high"], 1)) for r in stored["boosted"]],
                                        "suppressed": [(r["trait"], round(r["difference"], 1), round(r["low"], 1), round(r["high"], 1)) for r in stored["suppressed"]]})


def test_the_option_is_off_by_default_and_no_profile_is_made(persona, launch, tenant, client_for):
    job = launch(persona)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.params["eval_trait_profile_prompts"] == 0
    stage = job.stages.get(stage="eval")
    assert "trait_profiles" not in stage.stats["eval"] and stage.total == 4 * 24
    assert not TraitProfile.objects.filter(subject_id=job.public_id).exists()
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert 'data-testid="eval-trait-profiles"' not in page


@pytest.mark.parametrize("value, message", [
    ("-1", "must be at least 0 (you entered -1)"),
    ("19", "0 (off) or 20 to 500 prompts (you entered 19)"),
    ("1", "0 (off) or 20 to 500 prompts (you entered 1)"),
    ("501", "must be at most 500 (you entered 501)"),
    ("2.5", "must be a whole number (you entered 2.5)"),
])
def test_bad_prompt_counts_are_422_naming_the_field_in_the_form_and_the_api(persona, tenant, client_for, owner_api, value, message):
    field = "eval_trait_profile_prompts"
    response = client_for(tenant.user("editor")).post("/o/acme/training/new/", form_post(persona, **{field: value}))
    assert response.status_code == 422
    page = response.content.decode()
    assert f'data-testid="field-{field}" aria-invalid="true"' in page and message in page
    api = owner_api.post("/v1/training-jobs", json=launch_values(persona, **{field: value}))
    assert api.status_code == 422 and field in str(api.json())
    assert not TraitProfile.objects.exists()


@pytest.mark.parametrize("value", ["20", "500"])
def test_the_edges_of_the_range_are_accepted(persona, tenant, value):
    from studio.principal import Principal
    from training_jobs.launch_form import form_data
    from training_jobs.services import training_job_preflight

    principal = Principal.from_membership(tenant.membership("editor"))
    report = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona, eval_trait_profile_prompts=value))))
    assert not [e for e in report.errors if e["field"] == "eval_trait_profile_prompts"]
    assert report.params.eval_trait_profile_prompts == int(value)


def test_the_form_has_the_option_in_the_evaluation_section(persona, tenant, client_for):
    page = client_for(tenant.user("editor")).get(f"/o/acme/training/new/?persona={persona.public_id}").content.decode()
    section = page.split('data-testid="section-evaluation"', 1)[1]
    assert 'name="eval_trait_profile_prompts"' in section.split("</fieldset>", 1)[0]


def test_the_estimate_counts_both_profiles_replies_and_judge_calls(persona, tenant):
    from studio.principal import Principal
    from training_jobs.launch_form import form_data
    from training_jobs.services import training_job_preflight
    from training_jobs.throughput import TINY_REPLY_S, TYPICAL_CALLS_PER_S

    principal = Principal.from_membership(tenant.membership("editor"))
    off = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona))))
    on = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona, eval_trait_profile_prompts="40"))))
    # by hand: base and tuned each answer the 40 prompts once; the judge reads each reply in both orders
    replies, judge_calls = 2 * 40, 2 * 2 * 40
    assert on.estimate["time"]["replies"] - off.estimate["time"]["replies"] == replies
    assert on.estimate["calls"] - off.estimate["calls"] == judge_calls == on.estimate["trait_profile_judge_calls"]
    assert off.estimate["trait_profile_judge_calls"] == 0
    seconds = replies * TINY_REPLY_S + judge_calls / TYPICAL_CALLS_PER_S["offline"]
    assert on.estimate["time"]["seconds"] - off.estimate["time"]["seconds"] == pytest.approx(seconds, abs=1)


def test_the_workload_matches_what_the_runner_does_per_prompt():
    from audits.traits import runner

    class P:
        eval_trait_profile_prompts = 25

    assert trait_eval.workload(P()) == {"profiles": 2, "replies": 50, "judge_calls": 100}
    assert trait_eval.stage_units(P()) == 150
    P.eval_trait_profile_prompts = 0
    assert trait_eval.workload(P()) == {"profiles": 0, "replies": 0, "judge_calls": 0} and trait_eval.stage_units(P()) == 0
    # the runner asks the judge twice per reply: the pair in drawn order and reversed
    asks = []

    async def fake_ask(profile, wanted, config):
        asks.extend(wanted)
        return [a for _, a, _ in wanted]

    import asyncio

    items = [runner.Item(n, n, "hi", "calm", "witty") for n in range(3)]
    original = runner._ask
    runner._ask = fake_ask
    try:
        asyncio.run(runner._judge(type("Prof", (), {"config": {"judge": {"model": "offline/x"}}})(), items))
    finally:
        runner._ask = original
    assert len(asks) == trait_eval.JUDGE_CALLS_PER_PROMPT * len(items)


class _Ctx:
    """What run_trait_profiles reads of a job's context."""

    def __init__(self, prompts: int):
        from types import SimpleNamespace
        from uuid import uuid4

        self.params = SimpleNamespace(eval_trait_profile_prompts=prompts, seed=3)
        self.organization, self.job, self.advanced = None, SimpleNamespace(public_id=uuid4()), []

    def check_cancel(self, force=False):
        pass

    def advance(self, n, **_):
        self.advanced.append(n)


def test_off_runs_nothing_and_a_profile_that_cannot_start_is_recorded_while_the_evaluation_stands(monkeypatch):
    from audits.traits import services
    from studio.errors import Invalid

    assert trait_eval.run_trait_profiles(_Ctx(0)) is None

    def refuse(**kwargs):
        raise Invalid("no credentials for provider openai used by gpt-4o: add them on the Providers page", field="judge_model")

    monkeypatch.setattr(services, "profile_for_checkpoint", refuse)
    ctx = _Ctx(20)
    report = trait_eval.run_trait_profiles(ctx)
    assert report == {"prompts": 20, "seed": 3, "comparison": None,
                      "error": "the base trait profile could not start: no credentials for provider openai used by gpt-4o: "
                               "add them on the Providers page"}
    assert ctx.advanced == []


@pytest.mark.parametrize("tp, shown, absent", [
    # no data: both profiles completed but no pair had both orders agree → nothing to rank, ρ undefined
    ({"prompts": 20, "seed": 0, "error": "", "base": {"id": "00000000-0000-0000-0000-000000000001", "status": "completed"},
      "tuned": {"id": "00000000-0000-0000-0000-000000000002", "status": "completed"},
      "comparison": {"spearman": {"rho": None, "traits": 0}, "boosted": [], "suppressed": [], "traits_compared": 0}},
     ['data-testid="eval-spearman">—<', "over 0 traits", "<p class=\"muted\">None.</p>"], ["eval-trait-profile-error"]),
    # a failed profile: its reason, no comparison
    ({"prompts": 20, "seed": 0, "base": {"id": "00000000-0000-0000-0000-000000000001", "status": "failed"},
      "tuned": {"id": "00000000-0000-0000-0000-000000000002", "status": "completed"}, "comparison": None,
      "error": "no comparison: base: none of the 20 prompts could be judged"},
     ['data-testid="eval-trait-profile-error">no comparison: base: none of the 20 prompts could be judged<', "(failed)"],
     ["eval-spearman"]),
])
def test_the_summary_says_when_there_is_nothing_to_compare(tp, shown, absent):
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    job = SimpleNamespace(organization=SimpleNamespace(slug="acme"), public_id="00000000-0000-0000-0000-0000000000aa")
    html = render_to_string("training/partials/trait_profile_summary.html", {"tp": tp, "job": job})
    assert "/o/acme/trait-profiles/00000000-0000-0000-0000-000000000001/" in html
    for text in shown:
        assert text in html
    for text in absent:
        assert text not in html
