"""Reads for reviews: access helpers, agreement, leaderboards and exports.

The maths is in ratings.py and agreement.py (no Django); this module turns stored votes into their inputs.
"""

import csv
import io
import json
import statistics
from collections import Counter, defaultdict
from itertools import combinations

import numpy as np
from django.db.models import Count, Q
from guardian.shortcuts import get_users_with_perms

from audits.reviews.agreement import cohen_kappa, krippendorff_alpha
from audits.reviews.models import Comparison, ComparisonGeneration, ComparisonImport, JudgeRun, Judgment, ReviewPool
from audits.reviews.ratings import Votes, bradley_terry_bootstrap, elo_bootstrap
from personas.models import Persona
from studio.access import get_in_org
from studio.config.schema import REVIEW_AXES
from studio.config.selectors import effective_tree
from studio.errors import Invalid
from studio.models import Membership

CHOICES = ("a", "b", "tie")


# --- access: the only way to load a review object named in a request --------------------------------


def access_comparison(organization, comparison_id) -> Comparison:
    comparisons = Comparison.objects.select_related("persona__workspace", "source_a", "source_b", "organization")
    return get_in_org(comparisons, organization, comparison_id, what="comparison")


def access_import(organization, import_id) -> ComparisonImport:
    return get_in_org(ComparisonImport.objects.select_related("persona"), organization, import_id, what="import")


def access_judge_run(organization, judge_run_id) -> JudgeRun:
    return get_in_org(JudgeRun.objects.all(), organization, judge_run_id, what="judge run")


def access_generation(organization, generation_id) -> ComparisonGeneration:
    return get_in_org(ComparisonGeneration.objects.select_related("persona"), organization, generation_id, what="generation")


# --- votes ---------------------------------------------------------------------------------------------


def judgments_of(persona: Persona, *, prompt_set: str | None = None, kind: str | None = None):
    judgments = Judgment.objects.filter(comparison__persona=persona).select_related(
        "comparison__source_a", "comparison__source_b", "reviewer"
    )
    if prompt_set:
        judgments = judgments.filter(comparison__prompt_set=prompt_set)
    if kind:
        judgments = judgments.filter(kind=kind)
    return judgments.order_by("created_at", "id")


def prompt_sets(persona: Persona) -> list[str]:
    return sorted(set(persona.comparisons.values_list("prompt_set", flat=True)))


def consensus(choices: list[str]) -> str | None:
    """The majority vote of several reviewers on one pair: the single most common choice, if there is one."""
    if len(choices) < 2:
        return None
    ranked = Counter(choices).most_common()
    return ranked[0][0] if len(ranked) == 1 or ranked[0][1] > ranked[1][1] else None


# --- agreement -----------------------------------------------------------------------------------------


def _label(judgment: Judgment) -> str:
    if judgment.reviewer is None:
        return "(deleted user)"
    return judgment.reviewer.email or judgment.reviewer.get_username()


def agreement(persona: Persona, *, prompt_set: str | None = None) -> dict:
    """Cohen's κ per reviewer pair (choices on common pairs), Krippendorff's α per axis, and the reviewer table."""
    votes = [j for j in judgments_of(persona, prompt_set=prompt_set, kind=Judgment.Kind.HUMAN) if j.reviewer_id]
    by_reviewer: dict[int, dict[int, Judgment]] = defaultdict(dict)
    names = {}
    for j in votes:
        by_reviewer[j.reviewer_id][j.comparison_id] = j
        names[j.reviewer_id] = _label(j)
    reviewers = sorted(by_reviewer, key=lambda r: names[r])
    units = sorted({j.comparison_id for j in votes})
    column = {unit: i for i, unit in enumerate(units)}
    pairs = []
    for first, second in combinations(reviewers, 2):
        common = sorted(set(by_reviewer[first]) & set(by_reviewer[second]))
        if common:
            kappa = cohen_kappa([by_reviewer[first][u].choice for u in common], [by_reviewer[second][u].choice for u in common], CHOICES)
            pairs.append({"first": names[first], "second": names[second], "common": len(common), "kappa": _round(kappa)})
    alpha = {}
    for axis in REVIEW_AXES:
        table = np.full((len(reviewers), len(units)), np.nan)
        for row, reviewer in enumerate(reviewers):
            for unit, j in by_reviewer[reviewer].items():
                table[row, column[unit]] = getattr(j, axis) if getattr(j, axis) is not None else np.nan
        alpha[axis] = _round(krippendorff_alpha(table, level="ordinal")) if units else None
    return {"votes": len(votes), "pairs": pairs, "alpha": alpha, "reviewers": _reviewer_table(votes, reviewers, names, by_reviewer)}


def _reviewer_table(votes, reviewers, names, by_reviewer) -> list[dict]:
    per_unit = defaultdict(list)
    for j in votes:
        per_unit[j.comparison_id].append(j.choice)
    majority = {unit: consensus(choices) for unit, choices in per_unit.items()}
    table = []
    for reviewer in reviewers:
        mine = by_reviewer[reviewer]
        judged = [j for unit, j in mine.items() if majority.get(unit)]
        seconds = [j.seconds for j in mine.values() if j.seconds is not None]
        table.append({
            "reviewer": names[reviewer], "votes": len(mine),
            "agreement": _round(sum(j.choice == majority[j.comparison_id] for j in judged) / len(judged)) if judged else None,
            "median_seconds": round(statistics.median(seconds), 1) if seconds else None,
            "ties": sum(j.choice == "tie" for j in mine.values()),
            "mean_weighted_score": _round(statistics.fmean([j.weighted_score for j in mine.values() if j.weighted_score is not None] or [0])),
        })
    return table


def _round(value, digits: int = 3):
    return None if value is None else round(float(value), digits)


# --- ratings -------------------------------------------------------------------------------------------


def bootstrap_rounds(persona: Persona) -> int:
    return effective_tree(persona.organization, persona.workspace)["reviews.bootstrap_rounds"]


def leaderboard(persona: Persona, *, prompt_set: str | None = None, kind: str = Judgment.Kind.HUMAN, rounds: int | None = None, seed: int = 0) -> dict:
    """Bradley–Terry and online Elo per source with bootstrap mean, std, 95 % interval and interval-aware rank."""
    rounds = rounds or bootstrap_rounds(persona)
    judgments = list(judgments_of(persona, prompt_set=prompt_set, kind=kind))
    labels = sorted({j.comparison.source_a.label for j in judgments} | {j.comparison.source_b.label for j in judgments})
    result = {"kind": kind, "prompt_set": prompt_set or None, "votes": len(judgments), "rounds": rounds, "entries": []}
    if len(labels) < 2:
        return result
    index = {label: i for i, label in enumerate(labels)}
    rows = [(index[j.comparison.source_a.label], index[j.comparison.source_b.label], j.outcome) for j in judgments]
    votes = Votes.from_rows(rows, len(labels))
    bt = bradley_terry_bootstrap(votes, rounds=rounds, seed=seed)
    elo = elo_bootstrap(votes, rounds=rounds, seed=seed)
    counts = Counter()
    for a, b, _ in rows:
        counts[a] += 1
        counts[b] += 1
    entries = [
        {"source": label, "votes": counts[i], "bradley_terry": _rating(bt[i]), "elo": _rating(elo[i])}
        for label, i in index.items()
    ]
    entries.sort(key=lambda e: (e["bradley_terry"]["rank"], -e["bradley_terry"]["rating"]))
    result["entries"] = entries
    return result


def _rating(r) -> dict:
    return {"rating": round(r.rating, 1), "mean": round(r.mean, 1), "std": round(r.std, 1),
            "low": round(r.low, 1), "high": round(r.high, 1), "rank": r.rank}


def interval_bars(entries: list[dict], system: str = "bradley_terry", width: int = 360) -> list[dict]:
    """x positions (px) of each entry's 95 % interval and point rating, on one shared scale, for the SVG."""
    if not entries:
        return []
    low = min(e[system]["low"] for e in entries)
    high = max(e[system]["high"] for e in entries)
    span = (high - low) or 1.0
    scale = lambda v: round(10 + (v - low) / span * (width - 20), 1)  # noqa: E731
    return [{**e, "x_low": scale(e[system]["low"]), "x_high": scale(e[system]["high"]), "x_point": scale(e[system]["rating"])} for e in entries]


# --- exports -------------------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "judgment_id", "kind", "comparison_id", "prompt_set", "prompt", "text_a", "text_b", "source_a", "source_b",
    "choice", "winner", *REVIEW_AXES, "weighted_score", "comment", "reviewer", "judge_model", "seconds", "created_at",
)


def export_rows(persona: Persona, *, prompt_set: str | None = None, kind: str | None = None):
    for j in judgments_of(persona, prompt_set=prompt_set, kind=kind).select_related("comparison"):
        c = j.comparison
        winner = {"a": c.source_a.label, "b": c.source_b.label}.get(j.choice, "")
        yield {
            "judgment_id": str(j.public_id), "kind": j.kind, "comparison_id": str(c.public_id), "prompt_set": c.prompt_set,
            "prompt": c.prompt, "text_a": c.text_a, "text_b": c.text_b, "source_a": c.source_a.label, "source_b": c.source_b.label,
            "choice": j.choice, "winner": winner, **j.scores, "weighted_score": j.weighted_score, "comment": j.comment,
            "reviewer": _label(j) if j.kind == Judgment.Kind.HUMAN else "", "judge_model": j.judge_model,
            "seconds": round(j.seconds, 3) if j.seconds is not None else None, "created_at": j.created_at.isoformat(),
        }


def export_csv(rows) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def export_jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def dpo_pairs(persona: Persona, *, prompt_set: str | None = None, kind: str = Judgment.Kind.HUMAN) -> list[dict]:
    """One {prompt, chosen, rejected} per pair whose votes have a majority winner (one vote suffices); ties left out."""
    per_comparison = defaultdict(list)
    texts = {}
    for j in judgments_of(persona, prompt_set=prompt_set, kind=kind).select_related("comparison"):
        per_comparison[j.comparison_id].append(j.choice)
        texts[j.comparison_id] = j.comparison
    pairs = []
    for comparison_id, choices in per_comparison.items():
        ranked = Counter(choices).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            continue
        winner, c = ranked[0][0], texts[comparison_id]
        if winner == "a":
            pairs.append({"prompt": c.prompt, "chosen": c.text_a, "rejected": c.text_b})
        elif winner == "b":
            pairs.append({"prompt": c.prompt, "chosen": c.text_b, "rejected": c.text_a})
    return pairs


def export_file(persona: Persona, *, fmt: str, prompt_set: str | None = None, kind: str | None = None) -> tuple[str, str, str]:
    """(content, content type, file name) of an export: judgments as csv or jsonl, or DPO pairs ("dpo")."""
    if kind and kind not in Judgment.Kind.values:
        raise Invalid("kind must be human or judge", field="kind")
    stem = f"persona-{persona.public_id}-{prompt_set or 'all'}"
    if fmt == "dpo":
        pairs = dpo_pairs(persona, prompt_set=prompt_set, kind=kind or Judgment.Kind.HUMAN)
        return export_jsonl(pairs), "application/jsonl", f"{stem}-dpo.jsonl"
    if fmt == "csv":
        return export_csv(export_rows(persona, prompt_set=prompt_set, kind=kind)), "text/csv", f"{stem}-judgments.csv"
    if fmt == "jsonl":
        return export_jsonl(export_rows(persona, prompt_set=prompt_set, kind=kind)), "application/jsonl", f"{stem}-judgments.jsonl"
    raise Invalid("format must be csv or jsonl", field="format")


# --- lists ---------------------------------------------------------------------------------------------


def comparisons_of(organization, *, persona: Persona | None = None, prompt_set: str | None = None):
    comparisons = (
        Comparison.objects.filter(organization=organization)
        .select_related("persona", "source_a", "source_b")
        .annotate(votes=Count("judgments", filter=Q(judgments__kind=Judgment.Kind.HUMAN)))
    )
    if persona is not None:
        comparisons = comparisons.filter(persona=persona)
    if prompt_set:
        comparisons = comparisons.filter(prompt_set=prompt_set)
    return comparisons.order_by("-created_at", "-id")


def axis_weights(persona: Persona) -> dict:
    return effective_tree(persona.organization, persona.workspace).axis_weights(persona.public_id)


def reviewers_of(persona: Persona) -> list[Membership]:
    """Members holding the review permission on this persona's pool (guardian)."""
    pool = ReviewPool.objects.filter(persona=persona).first()
    if pool is None:
        return []
    users = get_users_with_perms(pool, only_with_perms_in=["review_persona_pairs"], with_superusers=False, with_group_users=False)
    return list(Membership.objects.filter(organization=persona.organization, user__in=users).select_related("user").order_by("user__email"))
