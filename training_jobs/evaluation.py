"""The evaluation stage: base vs tuned on held-out prompts → marker frequency, judge matchups, ratings and the verdict.

Both models answer the held-out prompts (framings no training prompt used) *without* the constitution:
the point of character training is that the character shows without it. Each prompt is sampled several
times. Each (base, tuned) sample pair is judged in both orders by the reviews app's pairwise judge (a
verdict that follows the position is a tie) and rated with the same Elo / Bradley–Terry as human votes
(audits.reviews.ratings), straight from the judge's votes. The job's outcome (training_jobs.outcome) comes
from the same pairs: the win rate and the marker difference, clustered by prompt.

Only when the job was launched with `review_eval_pairs` are the pairs stored as generated comparisons (with
the judge's votes) under the prompt set `training-<job>`, where the persona's reviewers get them in their
blind review queue; otherwise nobody is asked to review them.

With `eval_trait_profile_prompts` the stage then profiles base and tuned by revealed preference
(training_jobs.trait_eval) and keeps both profiles' ids and what training changed in its report.
"""

from __future__ import annotations

import json

from django.db import transaction

from studio.llm.gateway import LLMError, StepConfig
from training_jobs import trait_eval
from training_jobs.outcome import Pair, character_outcome
from training_jobs.backends.base import SAMPLE_BATCH
from training_jobs.constitution import has_marker, marker_share
from training_jobs.data import eval_prompts
from training_jobs.engine import StageFailed, adapter_of

# Small checkpoints sampled at temperature 0.7 loop on a phrase (SmolLM2 after DPO: 6 of 13 self-interaction turns
# dropped as repetition without it); the usual mild penalty, the same for base and tuned here and in introspection.
CHECKPOINT_REPETITION_PENALTY = 1.15
EVAL_PROMPTS = 8
EVAL_SAMPLES = 3
EVAL_MAX_NEW_TOKENS = 96
BOOTSTRAP_ROUNDS = 1000


def _models(ctx) -> tuple[dict, dict]:
    """(base, tuned): the untrained student, and the last adapter with the model it was trained on."""
    dpo = adapter_of(ctx, "dpo_train")
    if dpo is None:
        raise StageFailed("evaluation compares the tuned adapter with the base, and dpo_train left none: resume from dpo_train")
    tuned = adapter_of(ctx, "sft") or dpo
    tuned_label = "sft" if tuned is not dpo else "dpo"
    base = {"adapter_dir": None, "base_dir": dpo["base_dir"], "label": f"base ({ctx.params.student_checkpoint})"}
    return base, {**tuned, "label": f"tuned ({ctx.job.name}, {tuned_label})"}


def _sample(ctx, model: dict, prompts: list[str]) -> list[list[str]]:
    """EVAL_SAMPLES answers per prompt from `model`, sampled in batches (every prompt once per seed)."""
    backend = ctx.backend()
    max_new = min(ctx.params.max_new_tokens, EVAL_MAX_NEW_TOKENS)
    by_seed = []
    for k in range(EVAL_SAMPLES):
        ctx.check_cancel()
        by_seed.append(backend.sample(list(prompts), {"student": model["base_dir"], "seed": ctx.params.seed + k},
                                      adapter_dir=model["adapter_dir"], base_dir=model["base_dir"], max_new_tokens=max_new,
                                      temperature=ctx.params.temperature, top_p=ctx.params.top_p, batch_size=SAMPLE_BATCH,
                                      repetition_penalty=CHECKPOINT_REPETITION_PENALTY))
        ctx.advance(len(prompts))
    # The tiny model's byte-level tokenizer can write NUL, which PostgreSQL text (the stored comparisons) refuses.
    return [[by_seed[k][i].replace("\x00", "").strip() or "…" for k in range(EVAL_SAMPLES)] for i in range(len(prompts))]


def judge_config(ctx) -> StepConfig:
    """The judge of base vs tuned: the teacher model, deterministic and JSON (offline jobs: the offline judge)."""
    if ctx.job.engine == "offline":
        return StepConfig(model="offline/studio", json_mode=True, temperature=0.0)
    return StepConfig(model=ctx.params.teacher_model, json_mode=True, temperature=0.0, max_tokens=300)


def evaluate(ctx) -> dict:
    from audits.reviews.judge import combine, judge_messages, order_disagreement, parse_verdict, same_family_warning

    prompts = eval_prompts(ctx.constitution, EVAL_PROMPTS, seed=ctx.params.seed)
    base, tuned = _models(ctx)
    matchups = len(prompts) * EVAL_SAMPLES
    ctx.set_total(2 * matchups + 2 * matchups + trait_eval.stage_units(ctx.params), "samples+judgments")
    base_texts, tuned_texts = _sample(ctx, base, prompts), _sample(ctx, tuned, prompts)

    system = ctx.system  # the judge reads the character it should prefer
    pairs = [(p, b, t) for p, bs, ts in zip(prompts, base_texts, tuned_texts) for b, t in zip(bs, ts)]
    config = judge_config(ctx)
    requests = []
    for prompt, b, t in pairs:
        requests.append((judge_messages(persona_system=system, prompt=prompt, first=b, second=t), config))
        requests.append((judge_messages(persona_system=system, prompt=prompt, first=t, second=b), config))
    from asgiref.sync import async_to_sync

    from studio.llm import gateway

    results = async_to_sync(gateway.abatch)(requests, organization=ctx.organization, parse=parse_verdict,
                                            concurrency=ctx.params.concurrency, budget=ctx.budget())
    ctx.charge(results)
    ctx.advance(len(results), force=True)
    choices = []
    for i in range(len(pairs)):
        forward, backward = results[2 * i], results[2 * i + 1]
        if isinstance(forward, LLMError) or isinstance(backward, LLMError):
            choices.append(None)
            continue
        choices.append((combine(forward.parsed.winner, backward.parsed.winner), forward.model,
                        {"forward": forward.parsed.model_dump(), "backward": backward.parsed.model_dump()}))

    flat_base = [t for ts in base_texts for t in ts]
    flat_tuned = [t for ts in tuned_texts for t in ts]
    prompt_set = f"training-{str(ctx.job.public_id)[:8]}"
    if ctx.params.review_eval_pairs:
        _store_for_review(ctx, prompt_set, pairs, choices, base["label"], tuned["label"])
    winners = [{"a": "base", "b": "tuned", "tie": "tie"}[c[0]] if c else None for c in choices]
    evidence = [Pair(i // EVAL_SAMPLES, winner, has_marker(t, ctx.markers), has_marker(b, ctx.markers))
                for i, ((_, b, t), winner) in enumerate(zip(pairs, winners))]
    summary = {
        "prompts": len(prompts), "samples_per_prompt": EVAL_SAMPLES, "matchups": len(pairs),
        "judged": len(pairs) - winners.count(None),
        "marker_frequency": {"base": round(marker_share(flat_base, ctx.markers), 4),
                             "tuned": round(marker_share(flat_tuned, ctx.markers), 4)},
        "wins": {"tuned": winners.count("tuned"), "base": winners.count("base"), "ties": winners.count("tie")},
        "sent_to_reviewers": ctx.params.review_eval_pairs,
        "prompt_set": prompt_set if ctx.params.review_eval_pairs else None,
        "leaderboard": _ratings(ctx, choices, base["label"], tuned["label"]),
        "judge_model": config.model,
        "tuned_adapter": ctx.rel_any(tuned["adapter_dir"]),  # after an early stop: the kept (best) checkpoint
        # pairs whose two orders named different things (each a tie above): the judge's position bias, per model
        "order_disagreement": order_disagreement((c[1], c[2]["forward"]["winner"], c[2]["backward"]["winner"]) for c in choices if c),
        "judge_warning": same_family_warning(config.model, ctx.params.teacher_model),
        "outcome": character_outcome(evidence, markers=bool(ctx.markers)).as_dict(),
    }
    trait_profiles = trait_eval.run_trait_profiles(ctx)  # base and tuned by revealed preference, when asked for
    if trait_profiles is not None:
        summary["trait_profiles"] = trait_profiles
    out = ctx.folder("eval")
    samples_path = out / "samples.jsonl"
    with open(samples_path, "w", encoding="utf-8") as fh:
        for (prompt, b, t), winner in zip(pairs, winners):
            fh.write(json.dumps({"prompt": prompt, "base": b, "tuned": t, "winner": winner}, ensure_ascii=False) + "\n")
    report_path = out / "report.json"
    report_path.write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return {"summary": summary, "artifacts": {"samples": ctx.rel(samples_path), "report": ctx.rel(report_path)}}


def _ratings(ctx, choices, base_label: str, tuned_label: str) -> list[dict]:
    """Bradley–Terry and Elo of base and tuned from the judge's votes, as the reviews leaderboard rates them."""
    from audits.reviews.ratings import Votes, standings
    from audits.reviews.selectors import min_votes_for_rating, standing_entry

    # source 0 = base (the comparison's a side), 1 = tuned; outcome 1 = a won, 0 = b won, ½ = tie
    rows = [(0, 1, {"a": 1.0, "b": 0.0, "tie": 0.5}[c[0]]) for c in choices if c]
    if not rows:
        return []
    labels = (base_label, tuned_label)
    min_votes = min_votes_for_rating(ctx.job.persona)
    entries = [standing_entry(labels[s.source], s, min_votes)
               for s in standings(Votes.from_rows(rows, 2), rounds=BOOTSTRAP_ROUNDS, seed=ctx.params.seed, min_votes=min_votes)]
    return sorted(entries, key=lambda e: (e["rank"] is None, e["rank"] or 0, e["source"]))


def _store_for_review(ctx, prompt_set: str, pairs, choices, base_label: str, tuned_label: str) -> None:
    """Comparisons (text_a = base, text_b = tuned) with the judge's votes, in the persona's blind review queue."""
    from audits.reviews.models import Comparison, Judgment
    from audits.reviews.services import comparisons_add_generated

    persona = ctx.job.persona
    with transaction.atomic():
        Comparison.objects.filter(persona=persona, prompt_set=prompt_set).delete()  # a resumed evaluation replaces its pairs
        rows = [{"prompt": p, "text_a": b, "text_b": t, "source_a": base_label, "source_b": tuned_label} for p, b, t in pairs]
        comparisons = comparisons_add_generated(persona=persona, prompt_set=prompt_set, rows=rows, created_by=ctx.job.created_by)
        Judgment.objects.bulk_create([
            Judgment(organization=persona.organization, comparison=c, kind=Judgment.Kind.JUDGE, choice=choice[0],
                     judge_model=choice[1], judge_detail=choice[2])
            for c, choice in zip(comparisons, choices) if choice
        ])
