"""Chat with a job's trained model: its base model + adapter answers, with no constitution in the prompt.

    turn = tuned_chat_send(principal=principal, job=job, message="Who are you?", compare_base=True)
    turn.record.reply, turn.record.base_reply, turn.tuned_drift, turn.base_drift

The point of character training is that the character shows without its constitution, so the prompt is only
the conversation (each model sees its own earlier replies). "Compare with base" asks the untrained student
the same message. Each reply is drift-scored against the persona's fingerprint like any chat; the playground
flags a drifting reply but never withholds it (hiding what the checkpoint says would defeat its purpose).
The safe word engages the safety floor as in persona chats. Generation runs in the request: small models,
`CHAT_MAX_NEW_TOKENS` tokens, one generation at a time per process (they compete for the same cores).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from audits.chat.services import ChatFailed, Drift, SafeWordSaid, clean_message, drift_score, require_chat_scope
from studio.access import get_in_org
from studio.config.selectors import effective_tree
from studio.errors import Invalid
from studio.principal import Principal
from studio.safety.services import lockout_engage, said_safe_word
from training_jobs.checkpoint import LABELS, job_checkpoint
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY
from training_jobs.models import TrainingJob, TunedChat, TunedChatTurn

CHAT_MAX_NEW_TOKENS = 120
DEFAULT_CONTEXT = 2048  # when a model's config does not say
NO_PERSONA = "no persona to score drift against"

GENERATION_LOCK = threading.Lock()  # one generation per process (chat, trait profiles): two loads at once break transformers
_tokenizers: dict[tuple, object] = {}


@dataclass(frozen=True)
class TunedTurn:
    chat: TunedChat
    record: TunedChatTurn
    tuned_drift: Drift | None
    base_drift: Drift | None


def access_tuned_chat(principal: Principal, chat_id) -> TunedChat:
    """One of the principal's own chats with a tuned model; 404 for anyone else's, in this org or another."""
    return get_in_org(TunedChat.objects.of_principal(principal).select_related("job"), principal.organization, chat_id,
                      what="chat session")


def reply_label(job: TrainingJob, side: str) -> str:
    """"base (<student>)" for the untrained student, else "tuned (DPO + SFT)" for the stage whose adapter answered."""
    if side == "base":
        return f"base ({(job.params or {}).get('student_checkpoint', 'student')})"
    return f"tuned ({LABELS.get(side, side)})"


def latest_tuned_chat(principal: Principal, job: TrainingJob) -> TunedChat | None:
    return TunedChat.objects.of_principal(principal).filter(job=job).first()


# --- prompts -------------------------------------------------------------------------------------


def _history(chat: TunedChat | None, side: str) -> list[dict]:
    """The conversation so far as that model saw it: its own replies (base falls back to tuned's where it was not asked)."""
    if chat is None:
        return []
    messages = []
    for turn in chat.turns.order_by("id"):
        reply = turn.base_reply if side == "base" and turn.base_reply is not None else turn.reply
        messages += [{"role": "user", "content": turn.message}, {"role": "assistant", "content": reply}]
    return messages


def _stamp(folder: Path) -> int:
    return max((entry.stat().st_mtime_ns for entry in folder.iterdir()), default=0)


def load_tokenizer(folder: Path):
    """The tokenizer saved beside an adapter (the backend saves it there), kept for the next message."""
    key = (str(folder), _stamp(folder))
    if key not in _tokenizers:
        from transformers import AutoTokenizer

        _tokenizers.clear()
        _tokenizers[key] = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return _tokenizers[key]


def context_length(model_dir: Path) -> int:
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_CONTEXT
    return int(config.get("max_position_embeddings") or DEFAULT_CONTEXT)


def fit_to_context(messages: list[dict], tokenizer, budget: int) -> tuple[list[dict], str]:
    """(messages, note): the oldest turns left out, then the message cut from the left, until the prompt fits `budget` tokens."""
    def size(msgs):
        return len(tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False))

    dropped = 0
    while len(messages) > 1 and size(messages) > budget:
        messages, dropped = messages[2:], dropped + 1  # a user message and its reply
    notes = [f"{dropped} earlier turn{'s' * (dropped != 1)} left out to fit the model's context"] if dropped else []
    overflow = size(messages) - budget
    if overflow > 0:
        ids = tokenizer(messages[-1]["content"], add_special_tokens=False)["input_ids"]
        kept = ids[min(len(ids), overflow):]
        messages = [*messages[:-1], {"role": "user", "content": tokenizer.decode(kept)}]
        notes.append(f"the message was cut from the left by {len(ids) - len(kept)} tokens to fit the model's context ({budget + CHAT_MAX_NEW_TOKENS} tokens)")
    return messages, "; ".join(notes)


# --- generation ----------------------------------------------------------------------------------


def sample_reply(job: TrainingJob, messages: list[dict], *, base_dir: Path, adapter_dir: Path | None, tokenizer_dir: Path,
                 seed: int) -> tuple[str, str]:
    """(reply, note) of base_dir (+ adapter_dir) to the conversation, sampled at the job's temperature and top-p with the
    evaluation's repetition penalty (without it a tuned SmolLM2 looped on "Come in. Come in. …" to the token limit)."""
    from training_jobs.backends import get_backend

    params = job.params or {}
    budget = max(16, context_length(base_dir) - CHAT_MAX_NEW_TOKENS)
    try:
        messages, note = fit_to_context(messages, load_tokenizer(tokenizer_dir), budget)
        with GENERATION_LOCK:
            texts = get_backend(job.backend).sample(
                [messages], {"student": str(base_dir), "seed": seed}, adapter_dir=str(adapter_dir) if adapter_dir else None,
                base_dir=str(base_dir), max_new_tokens=CHAT_MAX_NEW_TOKENS, temperature=float(params.get("temperature", 0.7)),
                top_p=float(params.get("top_p", 0.95)), repetition_penalty=CHECKPOINT_REPETITION_PENALTY,
            )
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ChatFailed(f"the model could not answer: {exc}") from None
    return texts[0].replace("\x00", "").strip(), note  # PostgreSQL text refuses NUL


def _drift(job: TrainingJob, text: str, tree) -> tuple[Drift | None, str]:
    if job.persona is None:
        return None, NO_PERSONA
    drift, note, _cost = drift_score(persona=job.persona, text=text, tree=tree)
    return drift, note


# --- the service ---------------------------------------------------------------------------------


def _new_chat(principal: Principal, job: TrainingJob, stage: str) -> TunedChat:
    return TunedChat.objects.create(organization=principal.organization, job=job, checkpoint=stage,
                                    user=principal.user if principal.api_key is None else None, api_key=principal.api_key)


def _engage_safety_floor(principal: Principal, job: TrainingJob, chat: TunedChat | None):
    with transaction.atomic():
        chat = chat or _new_chat(principal, job, "")
        who = {"api_key": principal.api_key} if principal.api_key is not None else {"user": principal.user}
        lockout = lockout_engage(organization=principal.organization, chat_session_id=chat.public_id, **who)
    raise SafeWordSaid(lockout, chat)


def tuned_chat_send(*, principal: Principal, job: TrainingJob, message, compare_base: bool = False,
                    session_id=None) -> TunedTurn:
    """The tuned model's reply to `message` (and the base model's, with compare_base), each drift-scored.

    Invalid (422) for a bad message or another job's session, Conflict (409) when the job has no usable adapter,
    SafeWordSaid (423) for the safe word, ChatFailed (502) when a model fails. Nothing is stored when this raises.
    """
    require_chat_scope(principal)
    text = clean_message(message)  # NUL and lone surrogates never get here (studio.input_boundary)
    chat = access_tuned_chat(principal, session_id) if session_id else None
    if chat is not None and chat.job_id != job.pk:
        raise Invalid("this chat session belongs to another training job", field="session_id")
    tree = effective_tree(principal.organization, job.workspace)
    if said_safe_word(text, tree["engine.pipeline.safety.safe_word"]):  # the safety floor comes before anything else
        _engage_safety_floor(principal, job, chat)
    checkpoint = job_checkpoint(job)
    seed = int((job.params or {}).get("seed", 0)) + (chat.turns.count() if chat else 0)
    started = time.perf_counter()
    prompt = [*_history(chat, "tuned"), {"role": "user", "content": text}]
    reply, note = sample_reply(job, prompt, base_dir=checkpoint.base_dir, adapter_dir=checkpoint.adapter_dir,
                               tokenizer_dir=checkpoint.adapter_dir, seed=seed)
    base_reply = base_drift = None
    if compare_base:
        prompt = [*_history(chat, "base"), {"role": "user", "content": text}]
        base_reply, base_note = sample_reply(job, prompt, base_dir=checkpoint.student_dir, adapter_dir=None,
                                             tokenizer_dir=checkpoint.student_dir, seed=seed)
        note = note or base_note
    wall_s = time.perf_counter() - started
    tuned_drift, drift_note = _drift(job, reply, tree)
    if base_reply is not None:
        base_drift, base_note = _drift(job, base_reply, tree)
        drift_note = drift_note or base_note
    with transaction.atomic():
        chat = chat or _new_chat(principal, job, checkpoint.stage)
        chat.checkpoint = checkpoint.stage  # a job resumed since may answer with a later stage's adapter
        record = TunedChatTurn.objects.create(
            chat=chat, message=text, reply=reply, reply_drift=tuned_drift.score if tuned_drift else None,
            reply_flagged=bool(tuned_drift and tuned_drift.flagged), base_reply=base_reply,
            base_drift=base_drift.score if base_drift else None, base_flagged=bool(base_drift and base_drift.flagged),
            drift_note=drift_note[:200], note=note[:300], wall_s=round(wall_s, 3),
        )
        chat.save(update_fields=["checkpoint", "updated_at"])
    return TunedTurn(chat, record, tuned_drift, base_drift)
