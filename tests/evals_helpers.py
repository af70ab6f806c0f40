"""Eval runs built with the ORM as a finished worker leaves them, for the comparison and migration tests."""

from audits.evals.models import EvalRun, EvalTrial
from audits.evals.stats import run_gate


def completed_run(persona, verdicts: dict[str, str], *, layer_of=lambda key: key.split(".")[0]) -> EvalRun:
    """A completed run whose cases (keys "<layer>.<n>") got these verdicts, a letter per epoch (p pass, f fail, e error)."""
    epochs = max(len(v) for v in verdicts.values())
    suite = [{"key": key, "layer": layer_of(key), "title": key, "turns": [{"role": "user", "content": "hi"}],
              "check": {"kind": "structural", "first_person": True}} for key in verdicts]
    run = EvalRun.objects.create(organization=persona.organization, persona=persona, version=persona.current_version,
                                 status="completed", epochs=epochs, suite=suite, progress_done=1, progress_total=1)
    letters = {"p": "pass", "f": "fail", "e": "error"}
    EvalTrial.objects.bulk_create([EvalTrial(run=run, case_key=key, layer=layer_of(key), epoch=i + 1, verdict=letters[v])
                                   for key, run_verdicts in verdicts.items() for i, v in enumerate(run_verdicts)])
    run.results, run.gate_state, run.gate_reasons = run_gate(run.case_outcomes(), epochs=epochs)
    run.gate_passed = run.gate_state == "pass"
    run.save()
    return run
