"""Issue 20.5: a training job evaluates its checkpoints every N steps (marker rate and win rate vs base on held-out
prompts, with Wilson intervals), plots them beside the loss, and stops early on a plateau — a normal end with its
reason, the best checkpoint kept and evaluated."""

import math

import pytest
from scipy.stats import binomtest, norm

from tests.test_training_pages import form_post
from training_jobs import checkpoint_evals
from training_jobs.checkpoint_evals import Plateau, rate, score
from training_jobs.engine import read_jsonl
from training_jobs.in_training_evals import CheckpointEvaluator
from training_jobs.models import JobStatus
from training_jobs.outcome import percent_text


def wilson_by_hand(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The textbook Wilson score interval (Wilson 1927), written out independently of audits.evals.stats."""
    z = norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


# --- the numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("hits, n", [(0, 8), (8, 8), (0, 1), (1, 1), (5, 8), (3, 24)])
def test_rates_carry_the_wilson_interval_at_the_edges_and_inside(hits, n):
    got = rate(hits, n)
    scipy_ci = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert got["rate"] == hits / n
    assert got["low"] == pytest.approx(scipy_ci.low, abs=1e-9) == pytest.approx(wilson_by_hand(hits, n)[0], abs=1e-9)
    assert got["high"] == pytest.approx(scipy_ci.high, abs=1e-9) == pytest.approx(wilson_by_hand(hits, n)[1], abs=1e-9)
    assert 0.0 <= got["low"] <= got["rate"] <= got["high"] <= 1.0


def test_no_data_has_no_rate_and_no_interval():
    assert rate(0, 0) == {"hits": 0, "n": 0, "rate": None, "low": None, "high": None}
    entry = score(4, markers=None, winners=["tie", None])
    assert entry["marker_rate"] is None and entry["win_rate"]["rate"] is None
    assert entry["win_rate"]["ties"] == 1 and entry["win_rate"]["unjudged"] == 1 and entry["win_rate"]["pairs"] == 2


def test_the_win_rate_counts_decided_pairs_and_reports_ties_beside_it():
    entry = score(10, markers=[True, False, True, True], winners=["tuned", "base", "tie", "tuned"])
    assert entry["win_rate"]["hits"] == 2 and entry["win_rate"]["n"] == 3 and entry["win_rate"]["rate"] == 2 / 3
    assert entry["win_rate"]["ties"] == 1 and entry["win_rate"]["base_wins"] == 1
    assert entry["marker_rate"]["rate"] == 0.75
    low, high = wilson_by_hand(2, 3)
    assert entry["win_rate"]["low"] == pytest.approx(low) and entry["win_rate"]["high"] == pytest.approx(high)


def test_the_plateau_rule_needs_patience_evals_without_a_rise_of_min_delta():
    rule = Plateau("win_rate", patience=3, min_delta=0.05)
    # 0.25 → 0.625 (best) → 0.65 (+0.025 < min delta) → 0.5 → None (no decided pair): three without improvement
    stops = [rule.add(step, value) for step, value in [(1, 0.25), (2, 0.625), (3, 0.65), (4, 0.5), (5, None)]]
    assert stops == [False, False, False, False, True]
    assert rule.best_step == 2 and rule.best_value == 0.625
    record = rule.stop_record(stage="dpo_train", step=5)
    assert record["message"] == ("stopped early: win rate plateaued for 3 evals at step 5 "
                                 f"(best win rate {percent_text(0.625)} at step 2; that checkpoint is kept)")


def test_a_rise_of_exactly_min_delta_counts_and_patience_zero_never_stops():
    rule = Plateau("marker_rate", patience=1, min_delta=0.125)
    assert [rule.add(s, v) for s, v in [(1, 0.5), (2, 0.625), (3, 0.75)]] == [False, False, False]
    assert rule.add(4, 0.8) is True and rule.best_step == 3
    never = Plateau("win_rate", patience=0, min_delta=0.0)
    assert not any(never.add(s, 0.5) for s in range(1, 20))


def test_the_plan_counts_one_evaluation_per_multiple_of_n_in_each_training_stage():
    from training_jobs.params import LaunchParams

    params = LaunchParams.model_validate({**_values(), "eval_every_steps": 2, "eval_holdout_prompts": 8})
    # DPO: ceil(12 / 4) = 3 steps → an eval at step 2; SFT: ceil((10 + 2) / 4) = 3 steps → one at step 2
    assert checkpoint_evals.plan(params) == {"dpo_train": 1, "sft": 1}
    assert checkpoint_evals.workload(params) == {"evals": 2, "replies": 8 * (2 + 2), "judge_calls": 2 * 8 * 2}
    off = LaunchParams.model_validate(_values())
    assert checkpoint_evals.plan(off) == {} and checkpoint_evals.workload(off)["replies"] == 0


def _values(**overrides) -> dict:
    from tests.training_helpers import SMALL

    return {**SMALL, "persona_id": "6b1f0d8e-1c2a-4b7e-9a53-8c4e7f7f0a11", **overrides}


# --- the real loop ----------------------------------------------------------------------------------


def test_a_job_evaluates_each_checkpoint_on_held_out_prompts_while_it_trains(persona, launch):
    # 4 held-out prompts, not the default 8: every checkpoint of both stages is sampled on them, base and tuned
    job = launch(persona, eval_every_steps=1, early_stop_patience=0, eval_holdout_prompts=4)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.early_stop is None
    dpo, sft = job.stages.get(stage="dpo_train"), job.stages.get(stage="sft")
    setup = dpo.stats["checkpoint_eval_setup"]
    training = {row["prompt"] for row in read_jsonl(job.artifacts_dir / job.stages.get(stage="dpo_data").artifacts["pairs"])}
    assert setup["prompts"] and not set(setup["prompts"]) & training  # held out from the training data
    for run in (dpo, sft):
        evals = run.stats["checkpoint_evals"]
        assert [e["step"] for e in evals] == list(range(1, run.stats[run.stage.replace("_train", "")]["steps"] + 1))
        for entry in evals:
            wins = entry["win_rate"]
            assert wins["pairs"] == len(setup["prompts"])
            assert wins["hits"] + wins["base_wins"] + wins["ties"] + wins["unjudged"] == wins["pairs"]
            if wins["n"]:
                assert (wins["low"], wins["high"]) == pytest.approx(wilson_by_hand(wins["hits"], wins["n"]))
            markers = entry["marker_rate"]
            assert markers["n"] == len(setup["prompts"])
            assert (markers["low"], markers["high"]) == pytest.approx(wilson_by_hand(markers["hits"], markers["n"]))
            assert (job.artifacts_dir / entry["adapter"] / "adapter_config.json").exists()
    events = job.events.filter(type="train.checkpoint_eval")
    assert events.count() == len(dpo.stats["checkpoint_evals"]) + len(sft.stats["checkpoint_evals"])
    # no plateau: the last adapter stays the stage's adapter and the final evaluation ran on SFT's
    assert dpo.artifacts["adapter"] == "dpo_train/adapter"
    assert job.stages.get(stage="eval").stats["eval"]["tuned_adapter"] == "sft/adapter"


# --- the planted plateau ------------------------------------------------------------------------------

# Win rates the judge gives each checkpoint (the seam: the judging; sampling and training are real).
PLANTED = [0.25, 0.625, 0.625, 0.625, 0.5, 0.75]


@pytest.fixture
def planted_judge(monkeypatch):
    calls = []

    def judge(self, base, tuned):
        wins = round(PLANTED[len(calls)] * len(base))
        calls.append(len(base))
        return ["tuned"] * wins + ["base"] * (len(base) - wins)

    monkeypatch.setattr(CheckpointEvaluator, "_judge", judge)
    return calls


def test_a_planted_plateau_stops_training_early_keeps_the_best_checkpoint_and_ends_normally_until_resumed(
        persona, launch, planted_judge, client_for, tenant, owner_api):
    job = launch(persona, dpo_pairs=24, eval_every_steps=1, early_stop_patience=3, early_stop_min_delta=0.05)

    assert job.status == JobStatus.SUCCEEDED and job.kill is None and job.error == ""
    message = f"stopped early: win rate plateaued for 3 evals at step 5 (best win rate {percent_text(0.625)} at step 2; that checkpoint is kept)"
    assert job.early_stop["message"] == message
    assert job.early_stop | {"message": None} == {"stage": "dpo_train", "step": 5, "metric": "win_rate", "patience": 3, "min_delta": 0.05,
                                                  "best_step": 2, "best_value": 0.625, "evals": 5, "message": None}
    dpo = job.stages.get(stage="dpo_train")
    assert dpo.stats["dpo"]["stopped_early"] is True and dpo.stats["dpo"]["steps"] == 5 < dpo.stats["planned_steps"] == 6
    assert dpo.done == dpo.total == 5  # progress counts the steps taken
    assert [e["step"] for e in dpo.stats["checkpoint_evals"]] == [1, 2, 3, 4, 5] and len(planted_judge) == 5
    assert [e["win_rate"]["rate"] for e in dpo.stats["checkpoint_evals"]] == PLANTED[:5]
    assert dpo.artifacts["adapter"] == "dpo_train/checkpoints/step-2" and dpo.artifacts["last_adapter"] == "dpo_train/adapter"
    # the rest of training is skipped with the reason; the final evaluation ran on the kept checkpoint
    assert {s.stage: s.status for s in job.stages.all()} == {"smoke": "skipped", "dpo_data": "completed", "dpo_train": "completed", "introspection": "skipped",
                                                             "sft": "skipped", "eval": "completed"}
    assert job.stages.get(stage="sft").stats["skipped"] == message
    report = job.stages.get(stage="eval").stats["eval"]
    assert report["tuned_adapter"] == "dpo_train/checkpoints/step-2" and report["matchups"] > 0
    assert job.outcome == report["outcome"]["outcome"]
    end = job.events.get(type="job.succeeded")
    assert end.data["early_stop"]["message"] == message and not job.events.filter(type="job.killed").exists()

    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert "Stopped early: win rate plateaued for 3 evals at step 5" in page
    assert 'data-testid="checkpoint-chart-dpo_train"' in page and page.count('data-testid="eval-point"') == 5 + 5
    assert 'data-testid="early-stop-line"' in page
    row = page.split('data-testid="checkpoint-row-2"', 1)[1].split("</tr>", 1)[0]
    assert f"{percent_text(0.625)} (95% {percent_text(wilson_by_hand(5, 8)[0])}–{percent_text(wilson_by_hand(5, 8)[1])}, 5/8 decided)" in row
    assert "<strong>kept</strong>" in row
    body = owner_api.get(f"/v1/training-jobs/{job.public_id}").json()
    assert body["status"] == "succeeded" and body["early_stop"]["message"] == message and body["early_stop"]["best_step"] == 2
    # chat and export take the kept checkpoint, and the model card says why
    from training_jobs.checkpoint import job_checkpoint
    from training_jobs.export import card_facts
    from training_jobs.model_card import model_card

    kept = job_checkpoint(job)
    assert kept.adapter_dir == job.artifacts_dir / "dpo_train/checkpoints/step-2"
    assert f"| Early stop | S{message[1:]} |" in model_card(card_facts(job, kept, "adapter"))

    # Resuming: the evaluation again keeps the stop before it; training again forgets it (the same job: a second
    # early-stopped job trained for nothing but this).
    from studio.principal import Principal
    from training_jobs.services import training_job_resume

    principal = Principal.from_membership(tenant.membership("owner"))
    training_job_resume(principal=principal, job=job, stage="eval")
    job.refresh_from_db()
    assert job.early_stop is not None
    job.status = JobStatus.SUCCEEDED
    job.save(update_fields=["status"])
    training_job_resume(principal=principal, job=job, stage="dpo_train")
    job.refresh_from_db()
    assert job.early_stop is None and job.stages.get(stage="sft").status == "pending"


# --- the launch form and the estimate -----------------------------------------------------------------


@pytest.mark.parametrize("field, value, message", [
    ("eval_every_steps", "-1", "must be at least 0 (you entered -1)"),
    ("eval_holdout_prompts", "0", "must be at least 1 (you entered 0)"),
    ("early_stop_patience", "1.5", "must be a whole number (you entered 1.5)"),
    ("early_stop_min_delta", "2", "must be at most 1 (you entered 2)"),
    ("early_stop_min_delta", "nan", None),
    ("early_stop_metric", "loss", None),
])
def test_the_launch_form_refuses_bad_checkpoint_eval_settings_naming_the_field(persona, tenant, client_for, owner_api, field, value, message):
    response = client_for(tenant.user("editor")).post("/o/acme/training/new/", form_post(persona, **{"eval_every_steps": "5", field: value}))
    assert response.status_code == 422
    page = response.content.decode()
    assert f'data-testid="field-{field}" aria-invalid="true"' in page
    if message:
        assert message in page
    api = owner_api.post("/v1/training-jobs", json=_values(**{"persona_id": str(persona.public_id), "eval_every_steps": 5, field: value}))
    assert api.status_code == 422 and field in str(api.json())


def test_the_form_has_the_checkpoint_eval_toggles_in_an_advanced_section(persona, tenant, client_for):
    page = client_for(tenant.user("editor")).get(f"/o/acme/training/new/?persona={persona.public_id}").content.decode()
    assert 'data-testid="section-checkpoint_evals"' in page
    for name in ("eval_every_steps", "eval_holdout_prompts", "early_stop_patience", "early_stop_min_delta", "early_stop_metric"):
        assert f'name="{name}"' in page


def test_the_time_estimate_counts_the_checkpoint_evaluations_replies_and_judge_calls(persona, tenant):
    from studio.principal import Principal
    from training_jobs.launch_form import form_data
    from training_jobs.services import training_job_preflight
    from training_jobs.throughput import TINY_REPLY_S, TYPICAL_CALLS_PER_S

    principal = Principal.from_membership(tenant.membership("editor"))
    off = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona))))
    on = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona, eval_every_steps="1",
                                                                                     eval_holdout_prompts="8"))))
    # by hand: DPO ceil(12/4) = 3 steps and SFT ceil((10 + 2)/4) = 3 steps, an evaluation after each: 6 checkpoints;
    # replies 8 per checkpoint + 8 from base per stage; two judge calls per held-out prompt and checkpoint
    replies, judge_calls = 8 * 6 + 8 * 2, 2 * 8 * 6
    assert on.estimate["time"]["replies"] - off.estimate["time"]["replies"] == replies
    assert on.estimate["calls"] - off.estimate["calls"] == judge_calls == on.estimate["checkpoint_eval_judge_calls"]
    seconds = replies * TINY_REPLY_S + judge_calls / TYPICAL_CALLS_PER_S["offline"]
    assert on.estimate["time"]["seconds"] - off.estimate["time"]["seconds"] == pytest.approx(seconds, abs=1)


def test_the_chart_puts_loss_and_evaluations_on_one_step_axis_with_the_intervals_as_whiskers():
    from training_jobs.display import checkpoint_chart

    history = [{"step": s, "loss": 1.0 - 0.1 * s} for s in range(1, 5)]
    evals = [score(2, markers=[True, False, False, False], winners=["tuned", "tuned", "base", "tie"]),
             score(4, markers=[True, True, True, False], winners=["tie", "tie", None, None])]
    assert checkpoint_chart(history, [], planned_steps=8) is None  # nothing to draw before the first evaluation
    chart = checkpoint_chart(history, evals, planned_steps=8, early_stop={"step": 4, "best_step": 2}, width=640, pad=34)
    x = lambda step: 34 + (640 - 2 * 34) * step / 8  # noqa: E731  (the planned steps span the axis)
    # the loss points and the evaluations share it
    assert [h["x"] for h in chart["loss"]["hover"]] == pytest.approx([x(s) for s in range(1, 5)])
    wins, markers = chart["series"]
    assert [m["step"] for m in wins["marks"]] == [2]  # step 4 had no decided pair: no win rate to draw
    assert [m["step"] for m in markers["marks"]] == [2, 4]
    assert wins["marks"][0]["x"] + 2 == pytest.approx(x(2)) and markers["marks"][0]["x"] - 2 == pytest.approx(x(2))  # side by side
    # y: 0–100 % over the lower panel; the whisker spans the Wilson interval of 2 of 3 decided
    top, bottom = chart["rate_top"], chart["rate_bottom"]
    y = lambda value: top + (bottom - top) * (1 - value)  # noqa: E731
    low, high = wilson_by_hand(2, 3)
    assert (wins["marks"][0]["y"], wins["marks"][0]["low_y"], wins["marks"][0]["high_y"]) == pytest.approx((y(2 / 3), y(low), y(high)))
    assert f"win rate vs base {percent_text(2 / 3)} (95% {percent_text(low)}–{percent_text(high)}, 2/3 decided)" in wins["marks"][0]["label"]
    assert chart["stop"]["x"] == pytest.approx(x(4)) and chart["stop"]["best_x"] == pytest.approx(x(2))
    assert [t["step"] for t in chart["ticks"]] == [0, 2, 4, 6, 8]
    assert chart["rows"][0] == {"step": 2, "win_rate": f"{percent_text(2 / 3)} (95% {percent_text(low)}–{percent_text(high)}, 2/3 decided)",
                                "ties": 1, "marker_rate": f"25% (95% {percent_text(wilson_by_hand(1, 4)[0])}–"
                                                          f"{percent_text(wilson_by_hand(1, 4)[1])}, 1/4 replies)",
                                "not_counted": "", "kept": True}
    assert chart["rows"][1]["win_rate"] == "—" and chart["rows"][1]["kept"] is False


def test_each_pair_is_judged_in_both_orders_and_orders_that_disagree_make_a_tie(monkeypatch):
    from types import SimpleNamespace

    from audits.reviews.judge import PairVerdict
    from studio.llm import gateway
    from studio.llm.gateway import StepConfig
    from studio.llm.results import Completion, LLMError

    def verdict(winner):
        return Completion(text="{}", model="judge", prompt_tokens=0, completion_tokens=0, cost_usd=0.0, latency_ms=0.0,
                          parsed=PairVerdict(winner=winner))

    # per pair (base shown first, then the checkpoint shown first)
    script = [("B", "A"), ("A", "B"), ("A", "A"), ("tie", "tie"), (LLMError((), "the judge is down"), "A")]
    sent = []

    async def abatch(requests, **kwargs):
        sent.extend(requests)
        return [verdict(w) if isinstance(w, str) else w for pair in script for w in pair]

    monkeypatch.setattr(gateway, "abatch", abatch)
    charged = []
    ctx = SimpleNamespace(system="persona", organization=None, params=SimpleNamespace(concurrency=4), budget=lambda: None,
                          charge=charged.append)
    evaluator = SimpleNamespace(ctx=ctx, prompts=[f"prompt {i}" for i in range(5)],
                                _judge_config=lambda: StepConfig(model="offline/studio"))
    base, tuned = [f"base {i}" for i in range(5)], [f"tuned {i}" for i in range(5)]
    winners = CheckpointEvaluator._judge(evaluator, base, tuned)

    assert winners == ["tuned", "base", "tie", "tie", None]
    first_shown = [messages[1]["content"] for messages, _ in sent]
    assert '"A": "base 0"' in first_shown[0] and '"A": "tuned 0"' in first_shown[1]
    assert len(sent) == 10 and len(charged) == 1
    entry = score(5, markers=None, winners=winners)
    assert (entry["win_rate"]["hits"], entry["win_rate"]["n"], entry["win_rate"]["ties"], entry["win_rate"]["unjudged"]) == (1, 2, 2, 1)


def test_the_preflight_warns_when_no_checkpoint_would_be_evaluated(persona, tenant):
    from studio.principal import Principal
    from training_jobs.launch_form import form_data
    from training_jobs.services import training_job_preflight

    principal = Principal.from_membership(tenant.membership("editor"))
    report = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona, eval_every_steps="4"))))
    assert report.ok  # a warning: DPO and SFT take ceil(12 / 4) = 3 steps each, fewer than 4
    assert {"field": "eval_every_steps", "message": "no checkpoint will be evaluated: the training stages take 3 steps at most, "
                                                    "fewer than 4"} in report.warnings
    fine = training_job_preflight(principal=principal, data=form_data(dict(form_post(persona, eval_every_steps="3"))))
    assert not [w for w in fine.warnings if w["field"] == "eval_every_steps"]


def test_an_evaluation_the_judge_could_not_decide_at_all_is_no_evidence_of_a_plateau(persona, monkeypatch):
    from types import SimpleNamespace

    from training_jobs import in_training_evals
    from training_jobs.params import LaunchParams
    from training_jobs.services import constitution_current

    events = []
    monkeypatch.setattr(in_training_evals, "emit", lambda job, kind, data: events.append(data))
    script = iter([["tuned"] * 4 + ["base"] * 4, [None] * 8, [None] * 8, [None] * 8, ["base"] * 8, ["base"] * 8])
    monkeypatch.setattr(CheckpointEvaluator, "_judge", lambda self, base, tuned: next(script))
    monkeypatch.setattr(CheckpointEvaluator, "_replies", lambda self, adapter, base: ["reply"] * len(self.prompts))
    monkeypatch.setattr(CheckpointEvaluator, "_judge_config", lambda self: SimpleNamespace(model="offline/studio"))
    ctx = SimpleNamespace(params=LaunchParams.model_validate(_values(eval_every_steps=1, early_stop_patience=2)),
                          constitution=constitution_current(persona=persona).constitution, markers=[], job=None,
                          stage=SimpleNamespace(stage="dpo_train", stats={}, done=0), check_cancel=lambda: None,
                          rel_any=lambda path: path, progress=lambda done, force=False: None)
    evaluator = CheckpointEvaluator(ctx, training_prompts=[])
    assert len(evaluator.prompts) == 8
    for step in range(1, 5):
        evaluator(step, {"adapter_dir": f"step-{step}", "base_dir": "base"})
    assert evaluator.stop is None  # three evaluations without a verdict count for nothing
    assert [("not_counted" in e) for e in ctx.stage.stats["checkpoint_evals"]] == [False, True, True, True]
    evaluator(5, {"adapter_dir": "step-5", "base_dir": "base"})
    evaluator(6, {"adapter_dir": "step-6", "base_dir": "base"})
    assert evaluator.stop["step"] == 6 and evaluator.stop["best_step"] == 1 and evaluator.best == {"adapter_dir": "step-1", "base_dir": "base"}
    assert len(events) == 6 and events[-1]["early_stop"] == evaluator.stop


def test_the_backend_saves_each_checkpoint_and_sampling_it_leaves_training_unchanged(tmp_path):
    """SFT with LoRA dropout draws from torch's global RNG every step; sampling a checkpoint (which seeds it) in between
    must leave the losses as they were without checkpoints."""
    from training_jobs.backends.trl_backend import TRLBackend
    from tests.tuned_model_helpers import PAIRS

    backend = TRLBackend()
    examples = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in PAIRS]
    config = {"student": "tiny", "max_steps": 4, "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.3, "learning_rate": 5e-3,
              "batch_size": 2, "max_length": 256, "use_cpu": True, "seed": 3}
    plain = backend.train_sft(examples, {**config, "output_dir": str(tmp_path / "plain")})
    seen = []

    def on_checkpoint(step, checkpoint):
        seen.append((step, checkpoint))
        backend.sample(["How is the sea?"], {"student": checkpoint["base_dir"], "seed": 99}, adapter_dir=checkpoint["adapter_dir"],
                       base_dir=checkpoint["base_dir"], max_new_tokens=8)

    evaluated = backend.train_sft(examples, {**config, "output_dir": str(tmp_path / "evaluated"), "checkpoint_every": 2},
                                  on_checkpoint=on_checkpoint)
    assert [step for step, _ in seen] == [2, 4]
    for step, checkpoint in seen:
        assert checkpoint["adapter_dir"] == str(tmp_path / "evaluated" / "checkpoints" / f"step-{step}")
        assert (tmp_path / "evaluated" / "checkpoints" / f"step-{step}" / "adapter_config.json").exists()
        assert checkpoint["base_dir"] == evaluated.artifacts["base_dir"]
    assert [h["loss"] for h in evaluated.history] == pytest.approx([h["loss"] for h in plain.history], rel=1e-6)
