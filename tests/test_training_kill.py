"""Kill criteria for training jobs (each firing and not firing), and the launch presets / smoke sizes."""

import math

import pytest
from pydantic import ValidationError

from training_jobs.kill import CRITERIA, Kill, KillConfig, KillCriteria, preference_loss
from training_jobs.presets import PAPER, PRESETS, SMOKE_SIZES, preset_values, smoke_plan

LN2 = math.log(2)


def healthy(step: int) -> dict:
    return {"loss": LN2 - 0.01 * step, "rewards/accuracies": 0.75, "rewards/margins": 0.1 * step}


def run(criteria: KillCriteria, steps) -> Kill | None:
    for step, metrics in steps:
        if kill := criteria.check_step(metrics, step):
            return kill
    return None


def test_healthy_run_is_never_killed():
    criteria = KillCriteria({"nll_coef": 0.0, "warmup_steps": 2, "budget_usd": 10, "max_burn_usd_per_hour": 5})
    assert run(criteria, [(s, healthy(s)) for s in range(1, 40)]) is None
    assert criteria.check_data(0.95) is None
    assert criteria.check_cost(2.0, 3600) is None


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_loss(bad):
    kill = KillCriteria().check_step({"loss": bad, "rewards/accuracies": 0.5}, 7)
    assert kill.criterion == "non_finite_loss" and kill.numbers["step"] == 7
    assert "step 7" in kill.message and "non-finite" in kill.message and "\n" not in kill.message
    kill = KillCriteria({"stage": "sft"}).check_step({"loss": 1.0, "nll_loss": bad}, 3)
    assert kill.criterion == "non_finite_loss" and "nll_loss" in kill.numbers
    assert KillCriteria().check_step({"loss": 1.0, "grad_norm": float("inf")}, 3) is None  # only losses count


def test_dpo_loss_over_limit_fires_without_nll_term():
    kill = KillCriteria({"nll_coef": 0.0}).check_step({"loss": 2.5}, 4)
    assert kill.criterion == "dpo_loss"
    assert kill.numbers["preference_loss"] == 2.5 and kill.numbers["limit"] == 2.0
    assert "2.5 > 2" in kill.message
    assert KillCriteria({"nll_coef": 0.0}).check_step({"loss": 1.99}, 4) is None


def test_dpo_loss_rule_subtracts_the_nll_term():
    # first logged loss with the NLL term: ln 2 + 0.1 × NLL; NLL 15 gives 2.19 > 2 but the preference part is ln 2
    metrics = {"loss": LN2 + 0.1 * 15.0, "nll_loss": 15.0}
    assert metrics["loss"] > 2.0
    assert KillCriteria({"nll_coef": 0.1}).check_step(metrics, 1) is None
    value, rule = preference_loss(metrics, 0.1)
    assert value == pytest.approx(LN2) and "nll_loss" in rule
    # a preference part over 2 still fires, with the numbers of the rule
    kill = KillCriteria({"nll_coef": 0.1}).check_step({"loss": 2.3 + 0.1 * 6.0, "nll_loss": 6.0}, 9)
    assert kill.criterion == "dpo_loss"
    assert kill.numbers["preference_loss"] == pytest.approx(2.3)
    assert kill.numbers["nll_loss"] == 6.0 and kill.numbers["nll_coef"] == 0.1 and kill.numbers["loss"] == pytest.approx(2.9)
    assert "nll_loss" in kill.message


def test_dpo_loss_rule_prefers_a_logged_preference_loss():
    criteria = KillCriteria({"nll_coef": 0.1})
    assert criteria.check_step({"loss": 3.0, "preference_loss": 0.7, "nll_loss": 1.0}, 1) is None
    kill = KillCriteria({"nll_coef": 0.1}).check_step({"loss": 2.2, "dpo_loss": 2.1}, 1)
    assert kill.criterion == "dpo_loss" and kill.numbers["rule"] == "dpo_loss"


def test_dpo_loss_rule_falls_back_to_the_margin_bound_then_skips():
    # nll term on, no NLL logged: TRL's keys only. softplus(-margin) bounds the preference loss from below.
    criteria = KillCriteria({"nll_coef": 0.1})
    assert criteria.check_step({"loss": 2.6, "rewards/margins": 0.05}, 1) is None  # bound ≈ 0.67: healthy
    kill = KillCriteria({"nll_coef": 0.1}).check_step({"loss": 2.6, "rewards/margins": -2.5}, 2)
    assert kill.criterion == "dpo_loss"
    assert kill.numbers["preference_loss"] == pytest.approx(math.log1p(math.exp(2.5)))
    assert "margins" in kill.numbers["rule"]
    assert preference_loss({"loss": 5.0}, 0.1) == (None, "not logged")
    assert KillCriteria({"nll_coef": 0.1}).check_step({"loss": 5.0}, 3) is None


def test_dpo_rules_do_not_apply_to_sft():
    criteria = KillCriteria({"stage": "sft", "warmup_steps": 0, "accuracy_window": 1})
    assert criteria.check_step({"loss": 3.5, "rewards/accuracies": 0.1}, 5) is None


def test_reward_accuracy_after_warmup():
    criteria = KillCriteria({"warmup_steps": 3, "accuracy_window": 2})
    low = {"loss": 0.69, "rewards/accuracies": 0.3}
    assert criteria.check_step(low, 1) is None  # warm-up
    assert criteria.check_step({**low, "loss": 0.68}, 3) is None  # still warm-up (step ≤ 3)
    assert criteria.check_step({**low, "loss": 0.67}, 4) is None  # window not full yet
    kill = criteria.check_step({**low, "loss": 0.66}, 5)
    assert kill.criterion == "reward_accuracy"
    assert kill.numbers["reward_accuracy"] == pytest.approx(0.3) and kill.numbers["window"] == [0.3, 0.3]
    assert "30.0% < 50%" in kill.message and "warm-up (3 steps" in kill.message


def test_reward_accuracy_window_averages_noise_and_literal_rule():
    criteria = KillCriteria({"warmup_steps": 0, "accuracy_window": 3})
    accs = [0.6, 0.45, 0.55, 0.5, 0.6]  # one noisy batch under 50%, mean stays ≥ 0.5
    assert run(criteria, [(s + 1, {"loss": 0.7 - 0.01 * s, "rewards/accuracies": a}) for s, a in enumerate(accs)]) is None
    literal = KillCriteria({"warmup_steps": 0, "accuracy_window": 1})
    assert literal.check_step({"loss": 0.7, "rewards/accuracies": 0.5}, 1) is None  # exactly 50% is not < 50%
    assert literal.check_step({"loss": 0.69, "rewards/accuracies": 0.49}, 2).criterion == "reward_accuracy"


def test_flat_loss_fires_after_more_than_ten_steps():
    criteria = KillCriteria({"stage": "sft", "flat_steps": 10, "flat_rel_eps": 1e-3})
    kills = [criteria.check_step({"loss": 1.2345 + 1e-5 * (s % 2)}, s) for s in range(1, 12)]
    assert kills == [None] * 11  # steps 1..11: a span of 10 steps is not more than 10
    kill = criteria.check_step({"loss": 1.2345}, 12)
    assert kill.criterion == "flat_loss"
    assert kill.numbers["since_step"] == 1 and kill.numbers["steps"] == 11
    assert "flat since step 1" in kill.message


def test_flat_loss_stuck_at_ln2_with_sparse_logging():
    criteria = KillCriteria({"nll_coef": 0.0, "warmup_steps": 100})
    assert criteria.check_step({"loss": LN2, "rewards/accuracies": 0.0}, 5) is None
    assert criteria.check_step({"loss": LN2, "rewards/accuracies": 0.0}, 10) is None
    assert criteria.check_step({"loss": LN2, "rewards/accuracies": 0.0}, 15) is None  # 10 steps: not > 10
    assert criteria.check_step({"loss": LN2, "rewards/accuracies": 0.0}, 20).criterion == "flat_loss"


def test_decreasing_or_noisy_loss_is_not_flat():
    criteria = KillCriteria({"stage": "sft"})
    assert run(criteria, [(s, {"loss": 2.0 * 0.99 ** s}) for s in range(1, 60)]) is None
    noisy = KillCriteria({"stage": "sft"})
    assert run(noisy, [(s, {"loss": 1.0 + (0.02 if s % 3 else -0.02)}) for s in range(1, 60)]) is None
    # a plateau after a descent fires once the plateau's moving average (last 5 losses) is flat for long enough:
    # the average is 1.0 from step 24 (steps 20–24 all at 1.0), so the window 24 → 35 is the first > 10 steps
    plateau = KillCriteria({"stage": "sft"})
    steps = [(s, {"loss": 2.0 - 0.05 * s}) for s in range(1, 20)] + [(s, {"loss": 1.0}) for s in range(20, 40)]
    kill = run(plateau, steps)
    assert kill.criterion == "flat_loss" and kill.numbers["since_step"] == 24 and kill.numbers["step"] == 35
    assert kill.numbers["smoothing"] == 5 and "moving average" in kill.message
    # flat_smooth=1 is the raw-loss rule
    raw = run(KillCriteria({"stage": "sft", "flat_smooth": 1}), steps)
    assert raw.numbers["since_step"] == 20 and raw.numbers["step"] == 31


def test_flat_loss_uses_a_moving_average_not_single_steps():
    """A pretrained model's SFT loss: noisy steps around a slow descent are never flat; a loss stuck at 6.25 with
    jitter (the random tiny model's) is."""
    import numpy as np

    rng = np.random.default_rng(0)
    descent = [(s, {"loss": 2.2 * 0.985 ** s + float(rng.normal(0, 0.08))}) for s in range(1, 80)]
    assert run(KillCriteria({"stage": "sft"}), descent) is None
    # jitter of ±0.01 around 6.25: raw max − min (0.02) is over ε × 6.25, the 5-step average's spread is not
    stuck = [(s, {"loss": 6.25 + (0.01 if s % 2 else -0.01)}) for s in range(1, 40)]
    assert run(KillCriteria({"stage": "sft", "flat_smooth": 1}), stuck) is None
    smoothed = run(KillCriteria({"stage": "sft"}), stuck)
    assert smoothed is not None and smoothed.criterion == "flat_loss" and (smoothed.numbers["since_step"], smoothed.numbers["step"]) == (2, 13)


def test_marker_share():
    criteria = KillCriteria()
    assert criteria.check_data(0.8) is None
    kill = criteria.check_data(0.62)
    assert kill.criterion == "marker_share" and kill.numbers == {"marker_share": 0.62, "limit": 0.8}
    assert "62.0%" in kill.message and "80%" in kill.message
    assert KillCriteria({"min_marker_share": 0.5}).check_data(0.62) is None
    with pytest.raises(ValueError):
        criteria.check_data(1.5)


def test_budget_cap():
    criteria = KillCriteria({"budget_usd": 10})
    assert criteria.check_cost(9.99, 600) is None
    kill = criteria.check_cost(10.0, 600)
    assert kill.criterion == "budget" and kill.numbers["spent_usd"] == 10.0 and kill.numbers["budget_usd"] == 10
    assert "$10.00 spent of $10.00" in kill.message
    assert KillCriteria().check_cost(1e6, 60) is None  # no cap set
    assert KillCriteria().check_cost(1e6, 60, refused=True) is None


def test_budget_kill_prints_amounts_that_differ():
    # the issue's job: 20 × $0.002 jobs spent $0.004608 and read "$0.00 spent of $0.00"
    kill = KillCriteria({"budget_usd": 0.002}).check_cost(0.004608, 60)
    assert "budget cap reached, $0.0046 spent of $0.0020." in kill.message
    kill = KillCriteria({"budget_usd": 2500}).check_cost(2500.004, 60)
    assert "$2,500.004 spent of $2,500.000" in kill.message


def test_a_call_the_budget_could_not_cover_kills_below_the_cap():
    criteria = KillCriteria({"budget_usd": 0.002})
    assert criteria.check_cost(0.0019, 60) is None
    kill = criteria.check_cost(0.0019, 60, refused=True)
    assert kill.criterion == "budget" and kill.numbers["spent_usd"] == 0.0019
    assert kill.message == ("Killed: the budget cap would be passed, $0.0019 spent of $0.0020; "
                            "the next call could cost more than the $0.00010 left.")


def test_burn_rate():
    criteria = KillCriteria({"max_burn_usd_per_hour": 6.0, "burn_min_elapsed_s": 60})
    assert criteria.check_cost(0.5, 10) is None  # too early to measure a rate
    assert criteria.check_cost(0.5, 300) is None  # $6/h exactly is not over
    kill = criteria.check_cost(1.0, 300)  # $12/h
    assert kill.criterion == "burn_rate" and kill.numbers["burn_usd_per_hour"] == pytest.approx(12.0)
    assert "$12.00/h" in kill.message and "$6.00/h" in kill.message
    kill = KillCriteria({"max_burn_usd_per_hour": 0.001, "burn_min_elapsed_s": 60}).check_cost(0.0000281, 100)
    assert kill.numbers["burn_usd_per_hour"] == pytest.approx(0.0000281 * 36)  # $ per 100 s × 36 = $ per hour
    assert "$0.00101/h over the limit of $0.00100/h ($0.000028 in 100 s)" in kill.message
    with pytest.raises(ValueError):
        criteria.check_cost(-1, 10)


def test_config_is_strict_and_kill_is_readable():
    with pytest.raises(ValidationError) as caught:
        KillConfig.model_validate({"budget_usd": 0})
    assert caught.value.errors()[0]["loc"] == ("budget_usd",)
    with pytest.raises(ValidationError):
        KillCriteria({"warmup": 3})
    kill = KillCriteria().check_step({"loss": float("nan")}, 1)
    assert str(kill) == kill.message and kill.to_dict()["criterion"] in CRITERIA


# --- presets and smoke sizes -----------------------------------------------------------------------


def test_paper_preset_matches_the_spec():
    values = preset_values("paper")
    assert values == PAPER.values()
    assert (values["dpo_beta"], values["nll_coef"], values["learning_rate"], values["warmup_ratio"]) == (0.1, 0.1, 5e-5, 0.1)
    assert (values["batch_size"], values["lora_rank"], values["lora_alpha"], values["epochs"]) == (32, 64, 128, 1)
    assert (values["max_length_dpo"], values["max_length_sft"]) == (1024, 3072)
    assert (values["temperature"], values["top_p"]) == (0.7, 0.95)
    assert (values["dpo_pairs"], values["reflections"], values["interaction_turns"]) == (1500, 10_000, 10)
    assert PAPER.reflections_per_prompt == 1000
    assert preset_values("custom") == {}
    quick = preset_values("quick")
    assert quick.keys() == values.keys() and quick["dpo_pairs"] < values["dpo_pairs"]
    assert quick["reflections"] < values["reflections"] and quick["interactions"] < values["interactions"]
    assert set(PRESETS) == {"custom", "quick", "paper"}
    with pytest.raises(KeyError, match="custom, quick, paper"):
        preset_values("huge")


def test_smoke_sizes():
    small, large = SMOKE_SIZES["small"], SMOKE_SIZES["large"]
    assert (small.dpo_pairs, small.reflections, small.interactions, small.interaction_turns) == (8, 20, 2, 3)
    assert (large.dpo_pairs, large.reflections, large.interactions, large.interaction_turns) == (150, 200, 10, 10)
    assert (small.approx_steps, large.approx_steps) == (3, 25)
    assert smoke_plan("none") == [] and smoke_plan("small") == [small] and smoke_plan("both") == [small, large]
    with pytest.raises(KeyError):
        smoke_plan("medium")
