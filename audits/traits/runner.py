"""Executing a trait profile: for each drawn prompt the subject answers with two traits offered, the judge names the
trait shown in both orders of the two, and at the end Bradley–Terry rates every trait (audits.trait_ratings).

The profile is work on the engine (studio.work): claimed by a worker, kept alive by its heartbeat, resumed from its
saved judgments by the reaper when its worker dies (or failed after WORK_MAX_ATTEMPTS claims, saying how far it got).
Prompts go in batches: the subject's replies at once (the gateway for a persona, the registered sampler for a
checkpoint), then the judge's calls for both orders; an answer the judge's parser rejects is asked once more, then
recorded as a judge failure (dropped, never a win). Any exception ends the profile failed with a readable error.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audits.trait_ratings import trait_ratings
from audits.traits.catalog import draw
from audits.traits.judge import judge_messages, parse_choice, subject_messages
from audits.traits.models import TraitJudgment, TraitProfile
from audits.traits.subjects import source_for
from studio.llm.gateway import LLMError, StepConfig, abatch
from studio.work.lifecycle import Heartbeat, TakenOver, claim
from studio.work.queue import enqueue

logger = logging.getLogger(__name__)
BATCH = 24  # prompts per batch: the replies, then 2 judge calls each
ROUNDS = 200  # bootstrap rounds of the ratings: 144 traits make each round a 144 × 144 fit


class Item:
    """One prompt of the profile, filled in as its batch goes."""

    def __init__(self, number: int, prompt_index: int, prompt: str, first: str, second: str):
        self.number, self.prompt_index, self.prompt, self.first, self.second = number, prompt_index, prompt, first, second
        self.reply, self.forward, self.backward, self.shown, self.outcome, self.note, self.cost = "", "", "", "", "", "", 0.0

    def row(self, profile: TraitProfile) -> TraitJudgment:
        return TraitJudgment(profile=profile, number=self.number, prompt_index=self.prompt_index, first=self.first,
                             second=self.second, reply=self.reply.replace("\x00", ""), forward=self.forward, backward=self.backward,
                             shown=self.shown, outcome=self.outcome, note=self.note[:2000],
                             cost_usd=Decimal(str(round(self.cost, 6))))


def plan(profile: TraitProfile) -> list[Item]:
    """The profile's prompts and trait pairs: the same for the same seed, prompt count and traits."""
    prompts = profile.prompt_set.prompts
    drawn = draw(prompts=profile.prompts_count, available=len(prompts), traits=profile.traits, seed=profile.seed)
    return [Item(n, index, prompts[index], first, second) for n, (index, first, second) in enumerate(drawn, 1)]


def trait_profile_execute(profile_id: int) -> None:
    """Claim the profile and take it to its end; nothing to do when it ended, is gone, or a live worker holds it."""
    profile = claim(TraitProfile.objects.select_related("organization", "persona", "prompt_set"), profile_id,
                    running_status=TraitProfile.Status.RUNNING)
    if profile is None:
        return
    try:
        with Heartbeat(profile):
            _execute(profile)
    except TakenOver as exc:
        logger.warning("%s", exc)
    except Exception as exc:  # noqa: BLE001 — whatever went wrong, the profile must end, saying what
        logger.exception("trait profile %s failed", profile.public_id)
        with transaction.atomic():
            locked = TraitProfile.objects.select_for_update().get(pk=profile.pk)
            if locked.claimed_by == profile.claimed_by and not locked.is_finished:
                trait_profile_fail(locked, f"the trait profile stopped: {str(exc).strip() or type(exc).__name__}")


def trait_profile_fail(profile: TraitProfile, error: str) -> None:
    profile.status, profile.error, profile.finished_at = TraitProfile.Status.FAILED, error[:4000], timezone.now()
    profile.save(update_fields=["status", "error", "finished_at"])


def trait_profile_requeue(profile: TraitProfile) -> None:
    """Queue a profile whose worker died again (the reaper holds its row lock): it goes on from its saved judgments."""
    profile.status, profile.claimed_by, profile.heartbeat_at = TraitProfile.Status.QUEUED, "", timezone.now()
    profile.save(update_fields=["status", "claimed_by", "heartbeat_at"])
    transaction.on_commit(lambda: enqueue("audits.traits.tasks.execute_trait_profile", profile.pk))


def _mine(profile: TraitProfile):
    return TraitProfile.objects.filter(pk=profile.pk, claimed_by=profile.claimed_by, status__in=TraitProfile.RUNNING)


def _execute(profile: TraitProfile) -> None:
    source = source_for(profile.subject_kind)
    subject = source.resolve(profile.organization, profile.subject_id, profile.side)
    done = set(profile.judgments.values_list("number", flat=True))
    pending = [item for item in plan(profile) if item.number not in done]
    for start in range(0, len(pending), BATCH):
        batch = pending[start:start + BATCH]
        _replies(profile, source, subject, batch)
        async_to_sync(_judge)(profile, [item for item in batch if item.outcome != TraitJudgment.Outcome.NO_REPLY])
        with transaction.atomic():  # the judgments and the progress they make, or neither
            if not _mine(profile).update(progress_done=F("progress_done") + len(batch), heartbeat_at=timezone.now(),
                                         cost_usd=F("cost_usd") + Decimal(str(round(sum(i.cost for i in batch), 6)))):
                raise TakenOver(f"trait profile {profile.public_id} was taken over or ended elsewhere")
            TraitJudgment.objects.bulk_create([item.row(profile) for item in batch])
    _finish(profile)


def _replies(profile: TraitProfile, source, subject, batch: list[Item]) -> None:
    conversations = [subject_messages(system=subject.system, prompt=i.prompt, first=i.first, second=i.second) for i in batch]
    if source.sample is not None:  # a checkpoint: the registered sampler, the whole batch at once
        texts = source.sample(profile.organization, subject.details, conversations, profile.seed)
        for item, text in zip(batch, texts):
            if text is None or not text.strip():
                item.outcome, item.note = TraitJudgment.Outcome.NO_REPLY, "the model gave no reply"
            else:
                item.reply = text.strip()
        return
    config = StepConfig.from_step(profile.config["answer"], timeout_s=settings.LLM_TIMEOUT_S, seed=profile.seed)
    answers = async_to_sync(abatch)([(c, config) for c in conversations], organization=profile.organization,
                                    concurrency=settings.AUDIT_CONCURRENCY)
    for item, answer in zip(batch, answers):
        if isinstance(answer, LLMError) or not answer.text.strip():
            item.outcome, item.note = TraitJudgment.Outcome.NO_REPLY, f"no reply from the subject: {answer}" if isinstance(answer, LLMError) else "an empty reply"
            continue
        item.reply, item.cost = answer.text.strip(), answer.cost_usd


async def _ask(profile: TraitProfile, asks: list[tuple[Item, str, str]], config: StepConfig) -> list[str | None]:
    """The judge's trait for each (item, first, second); an answer that names neither is asked once more, then None."""
    requests = [(judge_messages(reply=item.reply, first=a, second=b), config) for item, a, b in asks]
    answers: list[str | None] = [None] * len(asks)
    todo = list(range(len(asks)))
    for _attempt in range(2):
        results = await abatch([requests[i] for i in todo], organization=profile.organization, concurrency=settings.AUDIT_CONCURRENCY)
        retry = []
        for i, result in zip(todo, results):
            item, a, b = asks[i]
            if isinstance(result, LLMError):
                item.note = f"the judge gave no answer: {result}"
                continue  # the gateway already retried transient errors
            item.cost += result.cost_usd
            try:
                answers[i] = parse_choice(result.text, a, b)
            except ValueError as exc:
                item.note = f"the judge's answer was not one of the two traits: {exc}"
                retry.append(i)
        todo = retry
        if not todo:
            break
    return answers


async def _judge(profile: TraitProfile, items: list[Item]) -> None:
    config = StepConfig.from_step(profile.config["judge"], json_mode=True, timeout_s=settings.LLM_TIMEOUT_S)
    asks = [ask for item in items for ask in ((item, item.first, item.second), (item, item.second, item.first))]
    answers = await _ask(profile, asks, config)
    for k, item in enumerate(items):
        forward, backward = answers[2 * k], answers[2 * k + 1]
        item.forward, item.backward = forward or "", backward or ""
        if forward is None or backward is None:
            item.outcome = TraitJudgment.Outcome.JUDGE_FAILED
        elif forward != backward:
            item.outcome, item.note = TraitJudgment.Outcome.DISAGREED, "the two orders named different traits: dropped"
        else:
            item.outcome, item.shown, item.note = TraitJudgment.Outcome.SHOWN, forward, ""


def profile_results(profile: TraitProfile) -> dict:
    """Ratings (best first, each with its 95 % interval, rank and whether the constitution names it) and the counts."""
    rows = list(profile.judgments.values_list("first", "second", "shown", "outcome"))
    counts = {outcome: 0 for outcome in TraitJudgment.Outcome.values}
    for *_, outcome in rows:
        counts[outcome] += 1
    judged = counts["shown"] + counts["disagreed"]
    constitution = set(profile.constitution_traits)
    ratings = trait_ratings([(a, b, s) for a, b, s, o in rows if o == TraitJudgment.Outcome.SHOWN], rounds=ROUNDS, seed=profile.seed)
    return {
        "ratings": [{**row, "constitution": row["trait"] in constitution} for row in ratings],
        "counts": counts, "prompts": len(rows),
        "order_disagreement": {"pairs": judged, "disagreed": counts["disagreed"],
                               "rate": counts["disagreed"] / judged if judged else None},
    }


def _finish(profile: TraitProfile) -> None:
    results = profile_results(profile)
    counts = results["counts"]
    status, error = TraitProfile.Status.COMPLETED, ""
    if counts["shown"] + counts["disagreed"] == 0:
        first = profile.judgments.exclude(note="").values_list("note", flat=True).first() or ""
        status = TraitProfile.Status.FAILED
        error = (f"none of the {results['prompts']} prompts could be judged ({counts['no_reply']} without a reply, "
                 f"{counts['judge_failed']} without a valid judge answer; the first: {first})")[:4000]
    with transaction.atomic():
        if not _mine(profile).update(results=results, status=status, error=error, finished_at=timezone.now()):
            raise TakenOver(f"trait profile {profile.public_id} was taken over or ended elsewhere")
