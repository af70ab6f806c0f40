"""Eval suites: a persona's cases (/personas/{id}/eval-cases, /eval-cases/{id}), runs (/personas/{id}/eval-runs,
/eval-runs/{id}) and two runs compared (/eval-runs/{id}/compare/{id})."""

from uuid import UUID

from ninja import Router, Status

from audits.evals.access import access_eval_case, access_eval_run
from audits.evals.catalog import render_case
from audits.evals.models import EvalCase, EvalRun
from audits.evals.schemas import (
    EvalCaseIn, EvalCaseOut, EvalCasePatchIn, EvalRunComparisonOut, EvalRunDetailOut, EvalRunIn, EvalRunOut,
)
from audits.evals.selectors import eval_run_comparison
from audits.evals.services import eval_case_create, eval_case_delete, eval_case_update, eval_run_start, persona_suite
from personas.access import access_persona

router = Router(tags=["evals"])


def case_out(case: EvalCase) -> dict:
    return {"id": case.public_id, "key": case.key, "source": "persona", **case.spec()}


def run_out(run: EvalRun) -> dict:
    return {
        "id": run.public_id, "persona_id": run.persona.public_id, "version": run.version.number, "status": run.status,
        "engine": run.engine, "epochs": run.epochs, "progress_done": run.progress_done, "progress_total": run.progress_total,
        "gate_state": run.gate_state or None, "gate_passed": run.gate_passed, "gate_reasons": run.gate_reasons, "error": run.error,
        "errored": run.errored, "cost_usd": float(run.cost_usd),
        "created_at": run.created_at, "finished_at": run.finished_at,
    }


@router.get("/personas/{persona_id}/eval-cases", response=list[EvalCaseOut])
def list_eval_cases(request, persona_id: UUID):
    """The persona's suite: the catalog's cases (every persona's) and its own."""
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return [{"id": case.get("id"), **case, "rendered": _rendered(case, persona.layers)} for case in persona_suite(persona)]


def _rendered(case: dict, layers: dict) -> dict:
    shown = render_case(case, layers)
    return {"turns": shown["turns"], "check": shown["check"]}


@router.post("/personas/{persona_id}/eval-cases", response={201: EvalCaseOut})
def create_eval_case(request, persona_id: UUID, payload: EvalCaseIn):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    case = eval_case_create(principal=request.auth, persona=persona, data=payload.dict(exclude_none=True))
    return Status(201, case_out(case))


@router.get("/eval-cases/{case_id}", response=EvalCaseOut)
def get_eval_case(request, case_id: UUID):
    request.auth.require_scope("personas:read")
    return case_out(access_eval_case(request.auth.organization, case_id))


@router.patch("/eval-cases/{case_id}", response=EvalCaseOut)
def patch_eval_case(request, case_id: UUID, payload: EvalCasePatchIn):
    request.auth.require_scope("personas:write")
    case = access_eval_case(request.auth.organization, case_id)
    return case_out(eval_case_update(principal=request.auth, case=case, data=payload.dict(exclude_none=True)))


@router.delete("/eval-cases/{case_id}", response={204: None})
def delete_eval_case(request, case_id: UUID):
    request.auth.require_scope("personas:write")
    eval_case_delete(principal=request.auth, case=access_eval_case(request.auth.organization, case_id))
    return Status(204, None)


@router.post("/personas/{persona_id}/eval-runs", response={202: EvalRunOut}, summary="Run the persona's eval suite")
def start_eval_run(request, persona_id: UUID, payload: EvalRunIn | None = None):
    """202 with the queued run: each case answered `epochs` times (1–10, default 3); the ship gate is decided at the end."""
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    run = eval_run_start(principal=request.auth, persona=persona, epochs=payload.epochs if payload else None)
    return Status(202, run_out(access_eval_run(request.auth.organization, run.public_id)))


@router.get("/personas/{persona_id}/eval-runs", response=list[EvalRunOut])
def list_eval_runs(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return [run_out(run) for run in persona.eval_runs.select_related("persona", "version")[:100]]


@router.get("/eval-runs/{eval_run_id}", response=EvalRunDetailOut)
def get_eval_run(request, eval_run_id: UUID):
    """Per layer: pass rate, 95% Wilson interval, pass^k, threshold, tolerance and gate state (with why, and the cases
    still needed when inconclusive); the failing cases; the ship gate (pass | fail | inconclusive)."""
    request.auth.require_scope("personas:read")
    run = access_eval_run(request.auth.organization, eval_run_id)
    return {**run_out(run), "config": run.config, "layers": run.layer_rows(), "failing_cases": run.failing_cases()}


@router.get("/eval-runs/{eval_run_id}/compare/{other_eval_run_id}", response=EvalRunComparisonOut,
            summary="Compare two eval runs on their shared cases")
def compare_eval_runs(request, eval_run_id: UUID, other_eval_run_id: UUID):
    """The second run (`other_eval_run_id`) vs the first, overall and per layer, on the cases graded in both: the
    difference in pass rate (second − first), its 95% interval and p (exact McNemar with one trial per case, a paired
    bootstrap over cases otherwise). 409 when a run is unfinished or the runs share no graded case."""
    request.auth.require_scope("personas:read")
    first = access_eval_run(request.auth.organization, eval_run_id)
    second = access_eval_run(request.auth.organization, other_eval_run_id)
    return eval_run_comparison(first, second)
