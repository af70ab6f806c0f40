"""Helpers for the generation benchmarks, importable (no Django at import) and runnable as processes.

The services-mode benchmarks (b) and (d) run the studio the way it is deployed: PostgreSQL, Redis,
a separate Celery worker and daphne, each its own process. This module is what their processes run,
with the benchmark's environment (DATABASE_URL, REDIS_URL, SECRET_KEY, STUDIO_VAR_DIR):

    python -m tests.benchmarks.generation_services llm-server --latency 0.2
        the OpenAI-compatible test server (tests/llm_server.py) answering every step with the offline
        engine's text (schema-valid), so runs succeed; prints its URL, then serves
    python -m tests.benchmarks.generation_services seed --llm-url URL --personas 1000
        user + org `bench` pointed at the server (model openai/gpt-test for every step), an API key,
        and org `bench-list` holding N personas with versions; prints JSON
    python -m tests.benchmarks.generation_services generate --briefs FILE --mode concurrent|sequential
        persona_generate() for each brief (each run is enqueued to the worker on commit) and waits,
        polling the database, until every run has finished; prints JSON (seconds, statuses, …)
    python -m tests.benchmarks.generation_services emitter
        a run in org `bench`; prints its id, then for each line read ("<i>") records a finished step
        and announces it with studio.work.events.emit, printing the time just before emit
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

MODEL = "openai/gpt-test"
API_KEY = "sk-bench-12345678"
ORG = "bench"
LIST_ORG = "bench-list"
EMAIL = "bench@bench.test"
PASSWORD = "bench-password-not-secret-42"
LAYER_CONTEXT = (("intent_parse", "intent"), ("soul_draft", "soul"), ("self_enrich", "self"),
                 ("mask_build", "mask"), ("surface_ground", "surface"), ("audit", "audit"))


# --- no Django needed ---------------------------------------------------------------------------

def offline_documents(brief: str) -> dict:
    """The documents the pipeline would store for `brief` with the offline engine's replies at every step
    (first audit round: parsed and dumped as the runner does, so the prompts are the ones it sends)."""
    from studio.llm.offline.engine import offline_reply
    from pipeline.prompts import build_messages
    from pipeline.schemas import parse_step_output

    context: dict = {}
    for step, name in LAYER_CONTEXT:
        text = offline_reply(build_messages(step, brief=brief, context=context))
        context[name] = parse_step_output(step, text).model_dump()
    return context


def passes_first_audit(brief: str, min_score: float = 3.5) -> bool:
    return offline_documents(brief)["audit"]["overall"] >= min_score


OCCUPATIONS = ["retired lighthouse keeper", "night-shift nurse", "tram driver", "beekeeper", "ferry mechanic",
               "school librarian", "street food vendor", "piano tuner", "hospital porter", "vineyard hand"]
PLACES = ["Porto", "Osaka", "Lisbon", "rural Oregon", "Marseille", "Valparaíso", "Tbilisi", "Hobart", "Accra",
          "Trondheim", "Oaxaca", "Gdańsk"]
HABITS = ["collects other people's unsent letters", "restores old radios", "keeps a notebook of overheard jokes",
          "argues with football commentators", "grows chillies on a fire escape", "writes letters to a future self",
          "teaches chess to pigeons, or claims to", "maps the city's stray cats"]


def briefs_passing_first_audit(count: int) -> list[str]:
    """`count` distinct briefs whose offline draft passes the audit at once (six LLM calls per run)."""
    found = []
    for i in range(len(OCCUPATIONS) * len(PLACES) * len(HABITS)):
        occupation = OCCUPATIONS[i % len(OCCUPATIONS)]
        place = PLACES[(i // len(OCCUPATIONS)) % len(PLACES)]
        habit = HABITS[(i * 7 + i // 3) % len(HABITS)]
        brief = f"A {occupation} in {place} who {habit}."
        if brief not in found and passes_first_audit(brief):
            found.append(brief)
            if len(found) == count:
                return found
    raise RuntimeError(f"only {len(found)} candidate briefs pass the offline audit at once")


def serve_llm(latency: float) -> None:
    import asyncio

    from studio.llm.offline.engine import offline_reply
    from tests.llm_server import LLMServer

    server = LLMServer(latency_s=latency, record=False, default_reply=lambda request: offline_reply(request.messages))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.bind())
    print(server.url, flush=True)
    loop.run_forever()


# --- Django ----------------------------------------------------------------------------------

def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()


def bulk_personas(org, count: int, documents: dict, start: int = 0) -> None:
    """`count` ready personas with one version each, straight through the ORM (no pipeline)."""
    from personas.models import Persona, PersonaStatus, PersonaVersion

    workspace = org.workspaces.get(slug="default")
    personas = Persona.objects.bulk_create(
        Persona(organization=org, workspace=workspace, brief=f"Bench brief number {i}", name=f"Bench persona {i}",
                status=PersonaStatus.READY)
        for i in range(start, start + count)
    )
    versions = PersonaVersion.objects.bulk_create(
        PersonaVersion(
            persona=p, number=1, source=PersonaVersion.Source.GENERATED, intent=documents["intent"],
            soul=documents["soul"], self_layer=documents["self"], mask=documents["mask"],
            surface=documents["surface"], audit=documents["audit"],
        )
        for p in personas
    )
    for persona, version in zip(personas, versions):
        persona.current_version = version
    Persona.objects.bulk_update(personas, ["current_version"])


def seed(llm_url: str, personas: int) -> dict:
    _django()
    from django.contrib.auth import get_user_model

    from pipeline.prompts import STEPS
    from studio import services
    from studio.config.services import config_set
    from studio.principal import Principal
    from studio.roles import SCOPES

    user = get_user_model().objects.create_user(username=EMAIL, email=EMAIL, password=PASSWORD)
    org = services.org_create(name="Bench", slug=ORG, owner=user)
    services.credential_set(organization=org, provider="openai_compatible", api_key=API_KEY, api_base=llm_url + "/v1")
    owner = Principal.from_membership(org.memberships.get(user=user))
    for step in STEPS:
        config_set(actor=owner, key=f"engine.pipeline.{step}.model", value=MODEL)
    list_org = services.org_create(name="Bench list", slug=LIST_ORG, owner=user)
    bulk_personas(list_org, personas, offline_documents("A retired lighthouse keeper in Porto who reads the tides."))
    key = services.api_key_create(organization=list_org, name="bench", scopes=list(SCOPES), granted_by=frozenset(SCOPES))
    return {"org": ORG, "list_org": LIST_ORG, "email": EMAIL, "password": PASSWORD, "list_api_key": key.secret}


def _principal():
    from studio.models import Membership
    from studio.principal import Principal

    return Principal.from_membership(Membership.objects.select_related("organization", "user").get(organization__slug=ORG))


def _wait(run_ids: list[int], timeout: float, poll: float) -> None:
    from pipeline.models import PipelineRun

    deadline = time.monotonic() + timeout
    while PipelineRun.objects.filter(pk__in=run_ids).unfinished().exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs not finished after {timeout:.0f} s")
        time.sleep(poll)


def generate(briefs: list[str], mode: str, timeout: float) -> dict:
    """Every brief through persona_generate (enqueued to the worker on commit); wait for all runs."""
    _django()
    from collections import Counter

    from pipeline.models import PipelineRun, StepRun
    from pipeline.services import persona_generate

    principal = _principal()
    run_ids = []
    started = time.perf_counter()
    if mode == "concurrent":
        for brief in briefs:
            run_ids.append(persona_generate(principal=principal, brief=brief)[1].pk)
        _wait(run_ids, timeout, 0.05)
    else:
        for brief in briefs:
            run_ids.append(persona_generate(principal=principal, brief=brief)[1].pk)
            _wait(run_ids[-1:], timeout, 0.01)
    seconds = time.perf_counter() - started
    runs = PipelineRun.objects.filter(pk__in=run_ids)
    durations = sorted(r.duration_ms for r in runs if r.duration_ms is not None)
    return {
        "seconds": seconds,
        "statuses": dict(Counter(runs.values_list("status", flat=True))),
        "errors": sorted({r.error for r in runs if r.error})[:3],
        "llm_steps": StepRun.objects.filter(run_id__in=run_ids).count(),
        "median_run_ms": durations[len(durations) // 2] if durations else None,
    }


def emitter() -> None:
    """A run in org `bench` that never executes; each stdin line finishes one step and emits step.completed."""
    _django()
    from django.utils import timezone

    from personas.models import Persona
    from studio.work.events import emit, last_event_seq
    from pipeline.models import PipelineRun, RunStatus, StepRun
    from pipeline.prompts import STEPS

    principal = _principal()
    org = principal.organization
    workspace = org.workspaces.get(slug="default")
    persona = Persona.objects.create(organization=org, workspace=workspace, brief="Event latency benchmark")
    run = PipelineRun.objects.create(
        organization=org, workspace=workspace, persona=persona, status=RunStatus.RUNNING, started_at=timezone.now(),
        step_config={"_audit": {"min_overall_score": 3.5, "max_retries": 3}},
    )
    print(json.dumps({"run_id": str(run.public_id), "org": org.slug, "last_seq": last_event_seq(run)}), flush=True)
    for line in sys.stdin:
        if not line.strip() or line.strip() == "quit":
            break
        i = int(line)
        step, attempt = STEPS[i % len(STEPS)], i // len(STEPS) + 1
        StepRun.objects.create(
            run=run, step=step, attempt=attempt, status=StepRun.Status.COMPLETED, model_requested=MODEL,
            model_used=MODEL, finished_at=timezone.now(), duration_ms=250, prompt_tokens=900, completion_tokens=120,
        )
        sent = time.time()
        emit(run, "step.completed", {
            "step": step, "attempt": attempt, "duration_ms": 250, "model": MODEL,
            "tokens": {"prompt": 900, "completion": 120}, "cost_usd": 0.0,
        })
        print(json.dumps({"sent": sent, "returned": time.time()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("llm-server")
    serve.add_argument("--latency", type=float, default=0.2)
    seeding = commands.add_parser("seed")
    seeding.add_argument("--llm-url", required=True)
    seeding.add_argument("--personas", type=int, default=1000)
    generating = commands.add_parser("generate")
    generating.add_argument("--briefs", required=True, help="a JSON file: a list of briefs")
    generating.add_argument("--mode", choices=["concurrent", "sequential"], required=True)
    generating.add_argument("--timeout", type=float, default=300)
    commands.add_parser("emitter")
    args = parser.parse_args()
    if args.command == "llm-server":
        serve_llm(args.latency)
    elif args.command == "seed":
        print(json.dumps(seed(args.llm_url, args.personas)))
    elif args.command == "generate":
        with open(args.briefs) as f:
            briefs = json.load(f)
        print(json.dumps(generate(briefs, args.mode, args.timeout)))
    else:
        emitter()


if __name__ == "__main__":
    main()
