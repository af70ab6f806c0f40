"""Which engine answers an org: its providers, or the offline engine when it has no LLM credentials at all.

`engine_plan` is the choice every feature makes before it calls a model (generation, audits,
comparisons): each step's effective config (engine.pipeline.<step>), every model swapped for
OFFLINE_MODEL without credentials, and a readable Invalid when a step's models have no credentials.
"""

from dataclasses import dataclass

from studio.config.schema import STEPS
from studio.config.selectors import effective_tree
from studio.errors import Invalid
from studio.models import Workspace
from studio.services import credential_resolve, org_has_llm_credentials

OFFLINE_MODEL = "offline/studio"


@dataclass(frozen=True)
class EnginePlan:
    engine: str  # "providers" | "offline"
    steps: dict


def engine_plan(workspace: Workspace) -> EnginePlan:
    """Each step's effective config; the offline engine for every step when the org has no credentials at all."""
    from studio.llm.gateway import provider_for_model

    org = workspace.organization
    tree = effective_tree(org, workspace)
    steps = {step: dict(tree.step(step)) for step in STEPS}
    steps["_audit"] = {
        "min_overall_score": tree["engine.pipeline.audit.min_overall_score"],
        "max_retries": tree["engine.pipeline.audit.max_retries"],
    }
    if not org_has_llm_credentials(organization=org):
        for step in STEPS:
            steps[step].update(model=OFFLINE_MODEL, fallbacks=[])
        return EnginePlan("offline", steps)
    for step in STEPS:
        if not steps[step].get("enabled", True) and step not in ("intent_parse", "audit"):
            raise Invalid(f"engine.pipeline.{step}.enabled is off, but every persona needs this layer", field=f"engine.pipeline.{step}.enabled")
        chain = [steps[step]["model"], *steps[step].get("fallbacks", [])]
        providers = {m: provider_for_model(m, org) for m in chain}
        if all(p is not None and credential_resolve(organization=org, provider=p) is None for p in providers.values()):
            missing = ", ".join(sorted({p for p in providers.values() if p}))
            raise Invalid(
                f"no credentials for provider {missing} used by engine.pipeline.{step}.model ({steps[step]['model']}): "
                "add them on the Providers page or change the model",
                field=f"engine.pipeline.{step}.model",
            )
    return EnginePlan("providers", steps)
