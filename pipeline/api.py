"""Generation and runs: POST /personas (attached to the personas router), /runs/{id}, /runs/{id}/events (SSE)."""

from uuid import UUID

from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from personas.access import access_persona
from personas.api import router as personas_router
from personas.cards import MAX_FILE_BYTES
from pipeline.access import access_run
from pipeline.schemas_api import ForkIn, PersonaGenerateIn, GenerateOut, RunOut
from pipeline.services import persona_fork, persona_generate, persona_import, version_audit_start
from studio.errors import Invalid
from studio.work.sse import last_event_id, sse_response

router = Router(tags=["runs"])


@personas_router.post("", response={202: GenerateOut}, summary="Generate a persona from a brief")
def generate_persona(request, payload: PersonaGenerateIn):
    """202 with the persona and run ids; with `stream: true` or `Accept: text/event-stream`, the run's events as SSE."""
    request.auth.require_scope("personas:write")
    persona, run = persona_generate(principal=request.auth, brief=payload.brief, workspace=payload.workspace)
    if payload.stream or "text/event-stream" in request.headers.get("Accept", ""):
        return sse_response(run, after=0)
    return _accepted(persona, run)


def _accepted(persona, run) -> Status:
    return Status(202, {"id": persona.public_id, "status": persona.status, "run_id": run.public_id, "engine": run.engine})


def read_upload(file: UploadedFile | None, field: str = "file") -> bytes:
    """The uploaded card's bytes, read no further than the card limit (+1, to say it is over)."""
    if file is None:
        raise Invalid(f"send the card as multipart/form-data in a field named '{field}'", field=field)
    content = file.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise Invalid(f"the file is over {MAX_FILE_BYTES:,} bytes, the most a card may be", field=field)
    return content


@personas_router.post("/import", response={202: GenerateOut}, summary="Import a character card (V1/V2/V3: JSON, PNG or CHARX)")
def import_persona(request, file: UploadedFile | None = File(None), workspace: str | None = Form(None)):
    """Multipart, the card in field `file`. The card is kept unchanged beside the persona; the pipeline drafts the four
    layers keeping the card's words and audits them (with `card_fidelity`). 422 naming the field (and the byte) when
    the file is no card."""
    request.auth.require_scope("personas:write")
    persona, run = persona_import(principal=request.auth, content=read_upload(file), file_name=file.name or "", workspace=workspace)
    return _accepted(persona, run)


@personas_router.post("/{persona_id}/versions/{number}/audit", response={202: GenerateOut},
                      summary="Audit an existing version (edited or restored) in a run of its own")
def audit_version(request, persona_id: UUID, number: int):
    persona = access_persona(request.auth.organization, persona_id)
    run = version_audit_start(principal=request.auth, persona=persona, number=number)
    return _accepted(persona, run)


@personas_router.post("/{persona_id}/fork", response={202: GenerateOut}, summary="Fork a persona: a child with a note of what differs")
def fork_persona(request, persona_id: UUID, payload: ForkIn):
    request.auth.require_scope("personas:write")
    parent = access_persona(request.auth.organization, persona_id)
    persona, run = persona_fork(principal=request.auth, parent=parent, note=payload.note)
    return _accepted(persona, run)


@router.get("/{run_id}", response=RunOut)
def get_run(request, run_id: UUID):
    request.auth.require_scope("personas:read")
    return access_run(request.auth.organization, run_id)


@router.get("/{run_id}/events", summary="The run's events as SSE: replays after Last-Event-ID, then follows live")
def run_events(request, run_id: UUID):
    request.auth.require_scope("personas:read")
    run = access_run(request.auth.organization, run_id)
    return sse_response(run, after=last_event_id(request))
