"""Reads over eval runs: two runs compared case by case."""

from audits.evals.models import LAYER_CHOICES, EvalRun
from audits.evals.stats import compare_cases
from studio.errors import Conflict


def _graded(outcomes: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, tuple[int, int]]]:
    """layer → case key → (passes, graded trials), for the cases with at least one graded trial."""
    tallies = {}
    for layer, cases in outcomes.items():
        tallies[layer] = {key: (verdicts.count("pass"), verdicts.count("pass") + verdicts.count("fail"))
                          for key, verdicts in cases.items() if "pass" in verdicts or "fail" in verdicts}
    return tallies


def eval_run_comparison(first: EvalRun, second: EvalRun) -> dict:
    """`second` vs `first` on the cases graded in both: overall and per layer (EvalRunComparisonOut).

    Conflict when a run is not completed or the two share no graded case.
    """
    for run in (first, second):
        if run.status != EvalRun.Status.COMPLETED:
            raise Conflict(f"eval run {run.public_id} is {run.status}: only completed runs can be compared")
    a, b = _graded(first.case_outcomes()), _graded(second.case_outcomes())
    all_a = {key: tally for cases in a.values() for key, tally in cases.items()}
    all_b = {key: tally for cases in b.values() for key, tally in cases.items()}
    seed = (first.seed * 1_000_003 + second.seed) % 2**32  # the same pair always gives the same bootstrap
    overall = compare_cases(all_a, all_b, seed=seed)
    if overall is None:
        raise Conflict("these eval runs share no case graded in both, so there is nothing to compare: "
                       "compare runs of the same suite (the catalog's cases are in every run)")
    rows = [{"scope": "overall", **overall}]
    for layer, _ in LAYER_CHOICES:
        row = compare_cases(a.get(layer, {}), b.get(layer, {}), seed=seed)
        if row is not None:
            rows.append({"scope": layer, **row})
    return {"first": _run(first), "second": _run(second), "shared_cases": overall["cases"],
            "only_first": len(all_a.keys() - all_b.keys()), "only_second": len(all_b.keys() - all_a.keys()), "rows": rows}


def _run(run: EvalRun) -> dict:
    return {"id": run.public_id, "persona_id": run.persona.public_id, "persona": run.persona.display_name,
            "version": run.version.number, "epochs": run.epochs, "gate_state": run.gate_state or None, "created_at": run.created_at}
