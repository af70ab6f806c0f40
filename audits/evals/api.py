"""Eval suites: a persona's cases (/personas/{id}/eval-cases, /eval-cases/{id}), runs (/personas/{id}/eval-runs,
/eval-runs/{id}) and two runs compared (/eval-runs/{id}/compare/{id})."""

from uuid import UUID

from ninja import Router, Status

from audits.evals.access import access_eval_case, access_eval_run
from audits.evals.catalog import render_case
from audits.evals.schemas import (
    EvalCaseIn, EvalCaseOut, EvalCasePatchIn, EvalRunComparisonOut, EvalRunDetailOut, EvalRunIn, EvalRunOut,
)
from audits.evals.selectors import eval_run_comparison
from audits.evals.services import eval_case_create, eval_case_delete, eval_case_update, eval_run_start, persona_suite
from personas.access import access_persona
from studio.pagination import paginated

router = Router(tags=["evals"])


@router.get("/personas/{persona_id}/eval-cases", response=list[EvalCaseOut])
@paginated
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
    return Status(201, case)


@router.get("/eval-cases/{case_id}", response=EvalCaseOut)
def get_eval_case(request, case_id: UUID):
    request.auth.require_scope("personas:read")
    return access_eval_case(request.auth.organization, case_id)


@router.patch("/eval-cases/{case_id}", response=EvalCaseOut)
def patch_eval_case(request, case_id: UUID, payload: EvalCasePatchIn):
    request.auth.require_scope("personas:write")
    case = access_eval_case(request.auth.organization, case_id)
    return eval_case_update(principal=request.auth, case=case, data=payload.dict(exclude_none=True))


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
    run = eval_run_start(principal=request.auth, persona=persona, epochs=payload.epochs if payload else None,
                         subject=payload.subject if payload else None)
    return Status(202, access_eval_run(request.auth.organization, run.public_id))


@router.get("/personas/{persona_id}/eval-runs", response=list[EvalRunOut])
@paginated
def list_eval_runs(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return persona.eval_runs.select_related("persona", "version")


@router.get("/eval-runs/{eval_run_id}", response=EvalRunDetailOut)
def get_eval_run(request, eval_run_id: UUID):
    """Per layer: pass rate, 95% Wilson interval, pass^k, threshold, tolerance and gate state (with why, and the cases
    still needed when inconclusive); the failing cases; the ship gate (pass | fail | inconclusive)."""
    request.auth.require_scope("personas:read")
    return access_eval_run(request.auth.organization, eval_run_id)


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
