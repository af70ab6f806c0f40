"""Running one repeat of a long-conversation case: the simulated user and the subject take turns, then every reply
of the subject is drift-scored against the persona's fingerprint.

Subjects answer a conversation; which one a run talks to is `run.config["subject"]["kind"]`, looked up in
SUBJECTS (a registry: the persona, with its system prompt, is registered here; a training job's checkpoint,
tuned and base with no system prompt, by training_jobs, which this app may not import). A subject gives one or
more sides; the first side is the one the case's assertion judges, the others ("base") are scored for comparison
and answer the same simulated-user messages (the user talks to the first side).

Context: the offline engine takes any length; the local model's provider trims the oldest turns to its context
(studio.llm.local_llm); a checkpoint's answerer fits the conversation to its context (training_jobs.tuned_chat).
"""

from dataclasses import dataclass, field, replace
from typing import Callable

from django.conf import settings

from audits.chat.services import embedding_model_for
from audits.drift import cosine_distance
from audits.evals.checks import LongConversationCheck
from audits.evals.conversation import first_crossing, phase_plan, user_prompt
from audits.models import Fingerprint
from personas.prompting import persona_system_prompt
from studio.config.selectors import effective_tree
from studio.errors import Invalid
from studio.llm import gateway
from studio.llm.gateway import StepConfig
from studio.llm.offline.engine import stable_seed

Answer = Callable[[list[dict], int], tuple[str, float]]  # (conversation, seed) → (reply, cost in USD)


class ConversationFailed(Exception):
    """A repeat that could not be completed or scored: its trial is recorded as an error with this reason."""


@dataclass
class Side:
    name: str  # persona | tuned | base
    answer: Answer


@dataclass
class SubjectKind:
    """`resolve(run)` → the sides that answer; `clean(organization, persona, data)` → the run's subject config
    (Invalid naming the field otherwise), when a run is started for this kind."""

    name: str
    resolve: Callable[..., list[Side]]
    clean: Callable[..., dict] = field(default=lambda organization, persona, data: {"kind": "persona"})


SUBJECTS: dict[str, SubjectKind] = {}


def register_subject(kind: SubjectKind) -> None:
    SUBJECTS[kind.name] = kind


def subject_clean(*, organization, persona, data: dict | None) -> dict:
    """The subject a run talks to: the persona by default, else the registered kind named by data["kind"]."""
    kind = (data or {}).get("kind", "persona")
    if not isinstance(kind, str) or kind not in SUBJECTS:
        raise Invalid(f"subject.kind must be one of {', '.join(sorted(SUBJECTS))}", field="subject.kind")
    return SUBJECTS[kind].clean(organization, persona, data or {})


def _persona_sides(run, context: dict) -> list[Side]:
    system = {"role": "system", "content": persona_system_prompt(run.version.layers)}

    def answer(conversation: list[dict], seed: int) -> tuple[str, float]:
        config = StepConfig.from_step(run.config["answer"], timeout_s=settings.LLM_TIMEOUT_S, seed=seed)
        reply = gateway.complete([system, *conversation], config, organization=run.organization)
        return reply.text, reply.cost_usd

    return [Side("persona", answer)]


register_subject(SubjectKind("persona", lambda run, context: _persona_sides(run, context)))


@dataclass
class Repeat:
    drift: list[float]
    transcript: list[dict]
    seed: int
    cost: float
    base_drift: list[float] | None = None

    def curve(self, threshold: float, before_turn: int) -> dict:
        out = {"drift": self.drift, "threshold": threshold, "before_turn": before_turn, "seed": self.seed,
               "first_crossing": first_crossing(self.drift, threshold), "transcript": self.transcript}
        if self.base_drift is not None:
            out["base_drift"] = self.base_drift
        return out


def case_threshold(run, check: LongConversationCheck) -> float:
    """The case's threshold, else the org's drift threshold (engine.pipeline.drift_detection.threshold)."""
    if check.threshold is not None:
        return check.threshold
    return float(effective_tree(run.organization, run.persona.workspace)["engine.pipeline.drift_detection.threshold"])


def converse(run, case: dict, check: LongConversationCheck, repeat: int, *, on_turn: Callable[[], None]) -> Repeat:
    """One repeat of `case`: `check.turns` turns, each a simulated-user message and the sides' replies, then drift."""
    fingerprint = Fingerprint.objects.latest_for(run.persona)
    if fingerprint is None or not fingerprint.vector:
        raise ConversationFailed("the persona has no ready fingerprint to score drift against: compute its fingerprint first")
    sides = SUBJECTS[(run.config.get("subject") or {}).get("kind", "persona")].resolve(run, {})
    goal, plan = check.goal_script(), phase_plan(check.goal_script(), check.turns)
    seed = stable_seed("long-conversation", str(run.public_id), case["key"], repeat) % 2**31
    user_config = StepConfig.from_step(run.config.get("user") or run.config["answer"], timeout_s=settings.LLM_TIMEOUT_S)
    name = (run.version.layers.get("surface") or {}).get("name") or run.persona.display_name
    opening = [{"role": t["role"], "content": t["content"]} for t in case.get("turns") or []]
    histories = {side.name: list(opening[:-1]) for side in sides}
    transcript, cost = [], 0.0
    for turn in range(1, check.turns + 1):
        lead = histories[sides[0].name]
        if turn == 1 and opening:
            message = opening[-1]["content"]
        else:
            prompt = user_prompt(goal=goal, plan=plan, turn=turn, persona_name=name, conversation=lead)
            try:
                said = gateway.complete(prompt, replace(user_config, seed=seed),
                                        organization=run.organization)
            except gateway.LLMError as exc:
                raise ConversationFailed(f"turn {turn}: the simulated user gave no message: {exc}") from None
            message, cost = said.text.strip(), cost + said.cost_usd
            if not message:
                raise ConversationFailed(f"turn {turn}: the simulated user's message was empty")
        row = {"turn": turn, "phase": goal[plan[turn - 1]]["name"], "user": message}
        for side in sides:
            history = histories[side.name]
            history.append({"role": "user", "content": message})
            try:
                reply, spent = side.answer(history, seed + turn)
            except Exception as exc:  # noqa: BLE001 — a provider's or a checkpoint's failure, said in the trial
                raise ConversationFailed(f"turn {turn}: {side.name} gave no reply: {exc}") from None
            history.append({"role": "assistant", "content": reply})
            row[side.name if side is not sides[0] else "reply"] = reply
            cost += spent
        transcript.append(row)
        on_turn()
    drifts = {side.name: _drift([r["reply"] if side is sides[0] else r[side.name] for r in transcript], run, fingerprint)
              for side in sides}
    result = Repeat(drifts[sides[0].name], transcript, seed, cost)
    if len(sides) > 1:
        result.base_drift = drifts[sides[1].name]
    return result


def _drift(replies: list[str], run, fingerprint: Fingerprint) -> list[float]:
    """Each reply's cosine distance to the fingerprint, embedded in the fingerprint's own space."""
    tree = effective_tree(run.organization, run.persona.workspace)
    try:
        vectors, _cost = gateway.embed(replies, embedding_model_for(fingerprint, tree), organization=run.organization)
        return [round(cosine_distance(vector, fingerprint.vector), 4) for vector in vectors]
    except (gateway.LLMError, ValueError) as exc:
        raise ConversationFailed(f"the replies could not be drift-scored: {exc}") from None
