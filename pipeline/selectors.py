"""Reads of runs for other apps, handed to them through personas' registries (they never import pipeline)."""

from personas.models import Persona
from pipeline.models import AUDIT_ONLY, StepRun
from pipeline.schemas import AUDIT_CRITERIA


def audit_attempts(persona: Persona) -> list[dict]:
    """Every audit attempt of every generation run of the persona, oldest first (the audit StepRun rows)."""
    rows = (StepRun.objects.filter(run__persona=persona, step="audit")
            .select_related("run").order_by("run__created_at", "run_id", "attempt", "id"))
    attempts = []
    for row in rows:
        output = row.output or {}
        threshold = float((row.run.step_config.get("_audit") or {}).get("min_overall_score", 3.5))
        overall = output.get("overall")
        attempts.append({
            "run_id": row.run.public_id, "attempt": row.attempt, "status": row.status,
            "model": row.model_used or row.model_requested,
            "scores": {name: output.get(name) for name in AUDIT_CRITERIA} if output else None,
            "overall": overall, "passed": overall is not None and overall >= threshold, "threshold": threshold,
            "notes": output.get("notes", "") or row.error, "finished_at": row.finished_at,
            "audited_version": (row.run.seed or {}).get("audit_version") if row.run.mode == AUDIT_ONLY else None,
        })
    return attempts


def persona_page_runs(persona: Persona) -> dict:
    """The persona page's runs (newest first, with their steps), the audit threshold the latest used, and the audits of
    versions under way (version number → run), so the page can say "auditing v2" and offer "Audit this version"."""
    runs = persona.runs.order_by("-created_at").prefetch_related("steps")[:10]
    latest_run = runs[0] if runs else None
    min_score = latest_run.step_config.get("_audit", {}).get("min_overall_score", 3.5) if latest_run else 3.5
    auditing = {run.seed.get("audit_version"): run for run in persona.runs.unfinished().filter(mode=AUDIT_ONLY)}
    return {"runs": runs, "min_score": min_score, "auditing": auditing, "can_audit_versions": True}
