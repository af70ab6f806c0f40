"""Generation and runs: POST /personas (attached to the personas router), /runs/{id}, /runs/{id}/events (SSE)."""

from uuid import UUID

from ninja import Router, Status

from personas.api import router as personas_router
from pipeline.access import access_run
from pipeline.models import PipelineRun
from pipeline.schemas_api import PersonaGenerateIn, GenerateOut, RunOut
from pipeline.services import persona_generate
from studio.work.events import last_event_seq
from studio.work.sse import last_event_id, sse_response

router = Router(tags=["runs"])


def run_out(run: PipelineRun) -> dict:
    return {
        "id": run.public_id, "persona_id": run.persona.public_id, "status": run.status, "engine": run.engine,
        "error": run.error, "audit_rounds": run.audit_rounds, "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens, "cost_usd": float(run.cost_usd), "created_at": run.created_at,
        "started_at": run.started_at, "finished_at": run.finished_at, "duration_ms": run.duration_ms,
        "last_event_seq": last_event_seq(run),
        "steps": [
            {
                "step": s.step, "attempt": s.attempt, "status": s.status, "model_requested": s.model_requested,
                "model_used": s.model_used, "llm_attempts": s.llm_attempts, "error": s.error,
                "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens,
                "cost_usd": float(s.cost_usd), "started_at": s.started_at, "finished_at": s.finished_at,
                "duration_ms": s.duration_ms,
            }
            for s in run.steps.all()
        ],
    }


@personas_router.post("", response={202: GenerateOut}, summary="Generate a persona from a brief")
def generate_persona(request, payload: PersonaGenerateIn):
    """202 with the persona and run ids; with `stream: true` or `Accept: text/event-stream`, the run's events as SSE."""
    request.auth.require_scope("personas:write")
    persona, run = persona_generate(principal=request.auth, brief=payload.brief, workspace=payload.workspace)
    if payload.stream or "text/event-stream" in request.headers.get("Accept", ""):
        return sse_response(run, after=0)
    return Status(202, {"id": persona.public_id, "status": persona.status, "run_id": run.public_id, "engine": run.engine})


@router.get("/{run_id}", response=RunOut)
def get_run(request, run_id: UUID):
    request.auth.require_scope("personas:read")
    return run_out(access_run(request.auth.organization, run_id))


@router.get("/{run_id}/events", summary="The run's events as SSE: replays after Last-Event-ID, then follows live")
def run_events(request, run_id: UUID):
    request.auth.require_scope("personas:read")
    run = access_run(request.auth.organization, run_id)
    return sse_response(run, after=last_event_id(request))
