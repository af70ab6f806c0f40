"""Generation and runs: POST /personas (attached to the personas router), /runs/{id}, /runs/{id}/events (SSE)."""

from uuid import UUID

from ninja import Router, Status

from personas.api import router as personas_router
from pipeline.access import access_run
from pipeline.schemas_api import PersonaGenerateIn, GenerateOut, RunOut
from pipeline.services import persona_generate
from studio.work.sse import last_event_id, sse_response

router = Router(tags=["runs"])


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
    return access_run(request.auth.organization, run_id)


@router.get("/{run_id}/events", summary="The run's events as SSE: replays after Last-Event-ID, then follows live")
def run_events(request, run_id: UUID):
    request.auth.require_scope("personas:read")
    run = access_run(request.auth.organization, run_id)
    return sse_response(run, after=last_event_id(request))
