"""Reads for reviews: access helpers, agreement, leaderboards and exports.

The maths is in ratings.py and agreement.py (no Django); this module turns stored votes into their inputs.
"""

import csv
import io
import json
import statistics
from collections import defaultdict
from itertools import combinations

import numpy as np
from django.db.models import Count, Q
from guardian.shortcuts import get_users_with_perms

from audits.reviews import ratings
from audits.reviews.agreement import (
    ALPHA_WARNING_BELOW,
    alpha_band,
    cohen_kappa,
    judge_human_kappa,
    krippendorff_alpha,
    leave_one_out_agreement,
    majority,
)
from audits.reviews.judge import order_disagreement, stored_verdicts
from audits.reviews.models import Comparison, ComparisonGeneration, ComparisonImport, JudgeRun, Judgment, ReviewPool
from audits.reviews.ratings import Votes
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


# --- agreement -----------------------------------------------------------------------------------------


def _label(judgment: Judgment) -> str:
    if judgment.reviewer is None:
        return "(deleted user)"
    return judgment.reviewer.email or judgment.reviewer.get_username()


def agreement(persona: Persona, *, prompt_set: str | None = None) -> dict:
    """Human reviewers' agreement: Cohen's κ per pair of reviewers (matrix, n per pair), Krippendorff's α per axis
    (n, band, warning) and each reviewer's agreement with the majority of the others (leave-one-out, n)."""
    votes = [j for j in judgments_of(persona, prompt_set=prompt_set, kind=Judgment.Kind.HUMAN) if j.reviewer_id]
    by_reviewer: dict[int, dict[int, Judgment]] = defaultdict(dict)
    names = {}
    for j in votes:
        by_reviewer[j.reviewer_id][j.comparison_id] = j
        names[j.reviewer_id] = _label(j)
    reviewers = sorted(by_reviewer, key=lambda r: names[r])
    pairs = []
    matrix = {"reviewers": [names[r] for r in reviewers], "kappa": [[None] * len(reviewers) for _ in reviewers],
              "n": [[0] * len(reviewers) for _ in reviewers]}
    for (i, first), (k, second) in combinations(enumerate(reviewers), 2):
        common = sorted(set(by_reviewer[first]) & set(by_reviewer[second]))
        kappa = _round(cohen_kappa([by_reviewer[first][u].choice for u in common],
                                   [by_reviewer[second][u].choice for u in common], CHOICES)) if common else None
        matrix["kappa"][i][k] = matrix["kappa"][k][i] = kappa
        matrix["n"][i][k] = matrix["n"][k][i] = len(common)
        if common:
            pairs.append({"first": names[first], "second": names[second], "n": len(common), "kappa": kappa})
    return {"votes": len(votes), "pairs": pairs, "kappa_matrix": matrix, "alpha": _alpha_per_axis(votes, reviewers, by_reviewer),
            "reviewers": _reviewer_table(votes, reviewers, names, by_reviewer)}


def kappa_rows(matrix: dict) -> list[dict]:
    """The κ matrix as table rows for the page: one cell per reviewer, the diagonal marked."""
    return [
        {"reviewer": name, "cells": [{"self": i == k, "kappa": matrix["kappa"][i][k], "n": matrix["n"][i][k]} for k in range(len(matrix["reviewers"]))]}
        for i, name in enumerate(matrix["reviewers"])
    ]


def _alpha_per_axis(votes, reviewers, by_reviewer) -> dict:
    """Krippendorff's α (ordinal) per axis, with n = pairs scored by at least two reviewers, its band and a warning."""
    units = sorted({j.comparison_id for j in votes})
    column = {unit: i for i, unit in enumerate(units)}
    alpha = {}
    for axis in REVIEW_AXES:
        table = np.full((len(reviewers), len(units)), np.nan)
        for row, reviewer in enumerate(reviewers):
            for unit, j in by_reviewer[reviewer].items():
                if getattr(j, axis) is not None:
                    table[row, column[unit]] = getattr(j, axis)
        n = int(((~np.isnan(table)).sum(axis=0) >= 2).sum()) if units else 0
        value = _round(krippendorff_alpha(table, level="ordinal")) if n else None
        alpha[axis] = {"alpha": value, "n": n, "band": alpha_band(value),
                       "warning": value is not None and value < ALPHA_WARNING_BELOW}
    return alpha


def _reviewer_table(votes, reviewers, names, by_reviewer) -> list[dict]:
    labels_by_unit = defaultdict(dict)
    for j in votes:
        labels_by_unit[j.comparison_id][j.reviewer_id] = j.choice
    with_others = leave_one_out_agreement(labels_by_unit)
    table = []
    for reviewer in reviewers:
        mine = by_reviewer[reviewer]
        agreed, n = with_others.get(reviewer, (0, 0))
        seconds = [j.seconds for j in mine.values() if j.seconds is not None]
        scores = [j.weighted_score for j in mine.values() if j.weighted_score is not None]
        table.append({
            "reviewer": names[reviewer], "votes": len(mine),
            "agreement": _round(agreed / n) if n else None, "agreement_n": n,
            "median_seconds": round(statistics.median(seconds), 1) if seconds else None,
            "ties": sum(j.choice == "tie" for j in mine.values()),
            "mean_weighted_score": _round(statistics.fmean(scores)) if scores else None,
        })
    return table


def _round(value, digits: int = 3):
    return None if value is None else round(float(value), digits)


# --- ratings -------------------------------------------------------------------------------------------


def bootstrap_rounds(persona: Persona) -> int:
    return effective_tree(persona.organization, persona.workspace)["reviews.bootstrap_rounds"]


def min_votes_for_rating(persona: Persona) -> int:
    return effective_tree(persona.organization, persona.workspace)["reviews.min_votes_for_rating"]


def leaderboard(persona: Persona, *, prompt_set: str | None = None, kind: str = Judgment.Kind.HUMAN, rounds: int | None = None,
                seed: int = 0, min_votes: int | None = None) -> dict:
    """One board per connected component of the comparison graph: Bradley–Terry and online Elo per source, with
    95 % intervals and ranks within the component; sources with fewer than `min_votes` votes get no rating.

    Entries are ordered by component, then rank; each names its `component` (1 = the most votes).
    """
    rounds = rounds or bootstrap_rounds(persona)
    min_votes = min_votes or min_votes_for_rating(persona)
    judgments = list(judgments_of(persona, prompt_set=prompt_set, kind=kind))
    labels = sorted({j.comparison.source_a.label for j in judgments} | {j.comparison.source_b.label for j in judgments})
    result = {"kind": kind, "prompt_set": prompt_set or None, "votes": len(judgments), "rounds": rounds, "min_votes": min_votes,
              "components": [], "entries": [],
              "order_disagreement": order_disagreement(stored_verdicts((j.judge_model, j.judge_detail) for j in judgments)),
              "human_agreement": _judge_human_agreement(persona, judgments, prompt_set) if kind == Judgment.Kind.JUDGE else []}
    if len(labels) < 2:
        return result
    index = {label: i for i, label in enumerate(labels)}
    rows = [(index[j.comparison.source_a.label], index[j.comparison.source_b.label], j.outcome) for j in judgments]
    standings = ratings.standings(Votes.from_rows(rows, len(labels)), rounds=rounds, seed=seed, min_votes=min_votes)
    entries = [standing_entry(labels[s.source], s, min_votes) for s in standings]
    entries.sort(key=lambda e: (e["component"], e["rank"] is None, e["rank"] or 0, -(e["rating"] or 0), e["source"]))
    result["entries"] = entries
    result["components"] = [
        {"component": number, "sources": [e["source"] for e in members],
         "votes": sum(e["votes"] for e in members) // 2, "prior_dominated": any(e["prior_dominated"] for e in members)}
        for number, members in ((n, [e for e in entries if e["component"] == n]) for n in sorted({e["component"] for e in entries}))
    ]
    return result


def _judge_human_agreement(persona: Persona, judge_votes: list[Judgment], prompt_set: str | None) -> list[dict]:
    """Per judge model, its κ with the human majority on the pairs people voted on too (agreement.judge_human_kappa)."""
    humans = judgments_of(persona, prompt_set=prompt_set, kind=Judgment.Kind.HUMAN).values_list("comparison_id", "choice")
    return judge_human_kappa([(j.comparison_id, j.judge_model, j.choice) for j in judge_votes], humans)


def standing_entry(label: str, standing: ratings.Standing, min_votes: int) -> dict:
    """A leaderboard row: n, rank within the component, ratings (none with too few votes) and what the interval rests on."""
    bt, elo = standing.bradley_terry, standing.elo
    note = None
    if not standing.rated:
        note = f"too few votes ({standing.votes} of {min_votes})"
    elif standing.prior_dominated:
        note = "unanimous outcomes: the interval comes from the Bradley–Terry prior, not from the votes alone"
    elif standing.interval == "posterior":
        note = "every resample of these votes is the same: the interval is the Bradley–Terry posterior's"
    shown = standing.rated and bt is not None
    return {
        "source": label, "component": standing.component, "votes": standing.votes, "rank": standing.rank,
        "rating": round(bt.rating, 1) if shown else None, "too_few_votes": not standing.rated,
        "prior_dominated": standing.prior_dominated, "interval": standing.interval if shown else None, "note": note,
        "bradley_terry": _rating(bt, standing.rank) if shown else None,
        "elo": _rating(elo, None) if shown else None,
    }


def _rating(r: ratings.Rating, rank: int | None) -> dict:
    """Point, bootstrap/posterior mean, std and 95 % interval; no std or interval when the resamples never vary."""
    spread = r.high - r.low >= ratings.MIN_WIDTH
    return {"rating": round(r.rating, 1), "mean": round(r.mean, 1), "std": round(r.std, 1) if spread else None,
            "low": round(r.low, 1) if spread else None, "high": round(r.high, 1) if spread else None, "rank": rank}


def boards(board: dict, width: int = 360) -> list[dict]:
    """The page's boards, one per component, each with its entries' interval bars (px) on that board's own scale."""
    return [
        {**component, "entries": interval_bars([e for e in board["entries"] if e["component"] == component["component"]], width=width)}
        for component in board["components"]
    ]


def interval_bars(entries: list[dict], system: str = "bradley_terry", width: int = 360) -> list[dict]:
    """x positions (px) of each rated entry's 95 % interval and point rating on one shared scale, for the SVG.
    Entries without a rating or interval keep no x positions."""
    drawn = [e for e in entries if e[system] and e[system]["low"] is not None]
    if not drawn:
        return list(entries)
    drawn_ids = {id(e) for e in drawn}
    low = min(e[system]["low"] for e in drawn)
    high = max(e[system]["high"] for e in drawn)
    span = (high - low) or 1.0

    def scale(value):
        return round(10 + (value - low) / span * (width - 20), 1)

    return [{**e, "x_low": scale(e[system]["low"]), "x_high": scale(e[system]["high"]), "x_point": scale(e[system]["rating"])}
            if id(e) in drawn_ids else e for e in entries]


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
        winner, c = majority(choices), texts[comparison_id]
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
