"""Chat with a persona: the reply, its drift from the voice fingerprint, and the safe word.

    turn = chat_send(principal=principal, persona=persona, message="How was the harbour today?")
    turn.reply.content, turn.drift.score, turn.withheld

The safe word (engine.pipeline.safety.safe_word) said on its own never reaches a model: it engages the
safety floor's lockout (studio.safety) and raises SafeWordSaid (423).

Who answers (`chat_config`): mask_build's models when the org has credentials; without any, SmolLM2-135M-Instruct
running in-process (`local/…`, the offline engine as its fallback), or the offline engine alone when the local
model cannot run (`local_chat_problem` says why: the page's banner).
"""

import importlib.util
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from audits.drift import DriftBound, cosine_distance, drift_bound
from audits.chat.models import ChatMessage, ChatSession
from audits.models import Fingerprint
from personas.lorebook import lore_for_turns, lore_section
from personas.models import Persona, PersonaCard
from personas.prompting import persona_system_prompt
from studio.llm.engines import OFFLINE_MODEL
from studio.access import get_in_org
from studio.config.selectors import EffectiveTree, effective_tree
from studio.errors import Conflict, Forbidden, Invalid, StudioError
from studio.llm import gateway, local_models
from studio.llm.gateway import LLMError, StepConfig
from studio.llm.local_models import LOCAL_CHAT_MODEL
from studio.principal import Principal
from studio.safety.services import lockout_engage, said_safe_word
from studio.services import org_has_llm_credentials

MAX_MESSAGE = 8000
CHAT_SCOPES = ("personas:write", "reviews:write")  # editors and reviewers chat; viewers read
FINGERPRINT_NOT_READY = "fingerprint not ready"
# The local model's chat replies: a few sentences, and it stops where it would start writing the user's turn.
LOCAL_CHAT_MAX_TOKENS = 200
LOCAL_CHAT_TEMPERATURE = 0.7
LOCAL_CHAT_STOP = ("\nUser:", "\nuser:", "<|im_start|>")


class SafeWordSaid(StudioError):
    """The speaker's lockout is engaged; the message got no reply."""

    status_code = 423

    def __init__(self, lockout, session: ChatSession):
        super().__init__(f"safe word received: this chat and your persona routes are locked until {lockout.ends_at.isoformat()}")
        self.lockout = lockout
        self.session = session


class ChatFailed(StudioError):
    status_code = 502


@dataclass(frozen=True)
class Drift:
    score: float
    threshold: float  # the bound it was held to: the fingerprint's own spread, or the configured threshold
    action: str  # engine.pipeline.drift_detection.action_on_alert: warn | block
    flagged: bool
    threshold_source: str = "configured"  # calibrated | floor | configured (audits.drift.drift_bound)

    @property
    def withheld(self) -> bool:
        return self.flagged and self.action == "block"

    @property
    def threshold_label(self) -> str:
        return DriftBound(self.threshold, self.threshold_source).label


@dataclass(frozen=True)
class ChatTurn:
    session: ChatSession
    message: ChatMessage
    reply: ChatMessage
    drift: Drift | None  # None: not scored, reply.drift_note says why

    @property
    def withheld(self) -> bool:
        return self.reply.blocked


def clean_message(message) -> str:
    if not isinstance(message, str):
        raise Invalid("message must be text", field="message")
    message = message.strip()
    if not message:
        raise Invalid("message must not be empty", field="message")
    if len(message) > MAX_MESSAGE:
        raise Invalid(f"message must be at most {MAX_MESSAGE} characters (got {len(message)})", field="message")
    return message


def require_chat_scope(principal: Principal) -> None:
    if not any(principal.has_scope(scope) for scope in CHAT_SCOPES):
        who = "this API key" if principal.api_key is not None else f"the {principal.role.value} role"
        raise Forbidden(f"chatting needs the 'personas:write' or 'reviews:write' scope, which {who} does not have")


def access_chat_session(principal: Principal, session_id) -> ChatSession:
    """One of the principal's own chat sessions; 404 for anyone else's, in this org or another."""
    sessions = ChatSession.objects.of_principal(principal).select_related("persona", "version")
    return get_in_org(sessions, principal.organization, session_id, what="chat session")


def local_chat_problem() -> str | None:
    """Why the local chat model cannot answer here (it names the package and the reinstall command), or None."""
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp (which runs the local chat model) is not installed: run `pip install -e .`"
    return local_models.problem(local_models.SMOLLM2)


def chat_engine_notice(organization) -> str | None:
    """The banner for an org without credentials whose local chat model should answer but cannot."""
    if org_has_llm_credentials(organization=organization) or not settings.LOCAL_MODELS_DEFAULT:
        return None
    return local_chat_problem()


def chat_config(persona: Persona, tree: EffectiveTree) -> tuple[str, StepConfig]:
    """(engine, config): mask_build's models with credentials; without, the local model (offline as its fallback)
    when it can run here, else the offline engine."""
    if org_has_llm_credentials(organization=persona.organization):
        return ChatSession.Engine.PROVIDERS, StepConfig.from_step(tree.step("mask_build"), json_mode=False)
    if local_models.use_by_default(local_models.SMOLLM2) and local_chat_problem() is None:
        return ChatSession.Engine.LOCAL, StepConfig(
            model=LOCAL_CHAT_MODEL, fallbacks=(OFFLINE_MODEL,), max_tokens=LOCAL_CHAT_MAX_TOKENS,
            temperature=LOCAL_CHAT_TEMPERATURE, stop=LOCAL_CHAT_STOP, timeout_s=settings.LLM_TIMEOUT_S,
        )
    return ChatSession.Engine.OFFLINE, StepConfig(model=OFFLINE_MODEL)


def spoken_reply(text: str) -> str:
    """The gateway's parser for a chat reply: trimmed (an empty one never gets here: the gateway retries it as `empty`)."""
    return text.strip()


def embedding_model_for(fingerprint: Fingerprint, tree: EffectiveTree) -> str:
    """The model the fingerprint was embedded with: a reply is only comparable in the same space."""
    if fingerprint.embedding_model:
        return fingerprint.embedding_model
    return OFFLINE_MODEL if fingerprint.engine == "offline" else tree["engine.pipeline.fingerprint.embedding_model"]


def fingerprint_drift_bound(fingerprint: Fingerprint | None, tree: EffectiveTree) -> DriftBound:
    """The distance above which a reply drifts from `fingerprint`: its own spread (mean + z·sd of its answers'
    leave-one-out distances), never under engine.pipeline.drift_detection.threshold, which alone applies to a
    fingerprint without calibration (or to none)."""
    return drift_bound(
        fingerprint.own_spread if fingerprint is not None else None,
        threshold=float(tree["engine.pipeline.drift_detection.threshold"]), z=float(tree["engine.pipeline.drift_detection.z"]),
    )


def persona_drift_bound(persona: Persona, tree: EffectiveTree) -> DriftBound:
    """The bound the persona's next reply is held to (its newest ready fingerprint's)."""
    return fingerprint_drift_bound(Fingerprint.objects.latest_for(persona), tree)


def drift_score(*, persona: Persona, text: str, tree: EffectiveTree) -> tuple[Drift | None, str, float]:
    """(drift, why not scored, embedding cost) of a reply against the persona's latest ready fingerprint."""
    fingerprint = Fingerprint.objects.latest_for(persona)
    if fingerprint is None or not fingerprint.vector:
        return None, FINGERPRINT_NOT_READY, 0.0
    try:
        vectors, cost = gateway.embed([text], embedding_model_for(fingerprint, tree), organization=persona.organization)
        score = cosine_distance(vectors[0], fingerprint.vector)
    except (LLMError, ValueError) as exc:
        return None, f"drift not scored: {exc}"[:200], 0.0
    bound = fingerprint_drift_bound(fingerprint, tree)
    action = tree["engine.pipeline.drift_detection.action_on_alert"]
    return Drift(round(score, 4), round(bound.value, 4), action, score > bound.value, bound.source), "", cost


LORE_HEADING = "### Lore (from the character's card; use what fits, never quote it as notes)"


def lore_context(persona: Persona, turns: list[str]) -> str:
    """The entries of the persona's card lorebook that the recent turns call in (personas.lorebook), as one block."""
    book = PersonaCard.objects.filter(persona=persona).values_list("lorebook", flat=True).first()
    return lore_section(lore_for_turns(book, turns)) if book else ""


def _new_session(principal: Principal, persona: Persona, engine: str = ChatSession.Engine.PROVIDERS) -> ChatSession:
    return ChatSession.objects.create(
        organization=principal.organization, persona=persona, version=persona.current_version,
        user=principal.user if principal.api_key is None else None, api_key=principal.api_key, engine=engine,
    )


def _engage_safety_floor(principal: Principal, persona: Persona, session: ChatSession | None, text: str):
    with transaction.atomic():
        session = session or _new_session(principal, persona)
        ChatMessage.objects.create(session=session, role=ChatMessage.Role.USER, content=text)
        who = {"api_key": principal.api_key} if principal.api_key is not None else {"user": principal.user}
        lockout = lockout_engage(organization=principal.organization, chat_session_id=session.public_id, **who)
    raise SafeWordSaid(lockout, session)


def chat_send(*, principal: Principal, persona: Persona, message, session_id=None) -> ChatTurn:
    """Answer `message` in persona and score the reply's drift. Nothing is stored when this raises, but the safe word."""
    require_chat_scope(principal)
    text = clean_message(message)
    session = access_chat_session(principal, session_id) if session_id else None
    if session is not None and session.persona_id != persona.pk:
        raise Invalid("this chat session belongs to another persona", field="session_id")
    tree = effective_tree(principal.organization, persona.workspace)
    if said_safe_word(text, tree["engine.pipeline.safety.safe_word"]):
        _engage_safety_floor(principal, persona, session, text)
    version = (session.version if session else None) or persona.current_version
    if version is None:
        raise Conflict(f"this persona is {persona.status} and has no version to chat with yet", field="persona_id")
    engine, config = chat_config(persona, tree)
    history = session.transcript() if session else []
    system = persona_system_prompt(version.layers)
    if lore := lore_context(persona, [*(turn["content"] for turn in history), text]):
        system += f"\n\n{LORE_HEADING}\n{lore}"
    messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": text}]
    try:
        completion = gateway.complete(messages, config, organization=principal.organization, parse=spoken_reply)
    except LLMError as exc:
        raise ChatFailed(f"the persona could not answer: {exc}") from None
    drift, note, embed_cost = drift_score(persona=persona, text=completion.parsed, tree=tree)
    with transaction.atomic():
        session = session or _new_session(principal, persona, engine)
        user_message = ChatMessage.objects.create(session=session, role=ChatMessage.Role.USER, content=text)
        reply = ChatMessage.objects.create(
            session=session, role=ChatMessage.Role.ASSISTANT, content=completion.parsed, model=completion.model,
            drift_score=drift.score if drift else None, drift_note=note, flagged=bool(drift and drift.flagged),
            drift_threshold=drift.threshold if drift else None, drift_threshold_source=drift.threshold_source if drift else "",
            blocked=bool(drift and drift.withheld), prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, cost_usd=completion.cost_usd + embed_cost,
        )
        session.save(update_fields=["updated_at"])
    return ChatTurn(session, user_message, reply, drift)


MAX_TITLE = 120


def chat_session_rename(*, principal: Principal, session: ChatSession, title) -> ChatSession:
    """A name for the chat list; blank goes back to the first message."""
    if not isinstance(title, str):
        raise Invalid("title must be text", field="title")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        raise Invalid(f"title must be at most {MAX_TITLE} characters (it has {len(title)})", field="title")
    session.title = title
    session.save(update_fields=["title"])  # renaming does not move it up the list
    return session


def chat_session_delete(*, principal: Principal, session: ChatSession) -> None:
    """Gone with its messages. A session a lockout names keeps its lockout: the floor holds the id, not the row."""
    session.delete()


def chat_drift_scores(session: ChatSession) -> list[tuple[float, bool]]:
    """(drift, past its bound) of each scored reply, in order (withheld ones included: they drifted)."""
    scored = session.messages.filter(role=ChatMessage.Role.ASSISTANT, drift_score__isnull=False).order_by("id")
    return list(scored.values_list("drift_score", "flagged"))
