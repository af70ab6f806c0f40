"""What the voice fingerprints say about personas side by side: a fork's distance from its parent (flagged past
engine.pipeline.fork.max_drift_from_parent), the family tree a fork belongs to, each persona's distinctiveness (its
distance from a generic assistant's fingerprint) and the org's near-clones (pairs closer than
engine.pipeline.distinctiveness.clone_floor). Distances compare fingerprints embedded by the same model only."""

from dataclasses import dataclass

import numpy as np

from audits.drift import cosine_distance
from audits.models import Fingerprint
from personas.models import Persona
from studio.config.selectors import effective_tree

MAX_DEPTH = 50  # ancestors walked up to the root; a tree deeper than this is shown from there


@dataclass(frozen=True)
class ParentDrift:
    distance: float | None  # None until both have a ready fingerprint in the same embedding space
    max_drift: float
    note: str = ""

    @property
    def flagged(self) -> bool:
        return self.distance is not None and self.distance > self.max_drift

    def as_dict(self) -> dict:
        return {"distance": self.distance, "max_drift": self.max_drift, "flagged": self.flagged, "note": self.note}


def fingerprint_distance(a: Fingerprint | None, b: Fingerprint | None) -> tuple[float | None, str]:
    if a is None or b is None or not a.vector or not b.vector:
        return None, "waiting for both voice fingerprints"
    if a.embedding_model != b.embedding_model:
        return None, f"the fingerprints were embedded by different models ({a.embedding_model}, {b.embedding_model})"
    try:
        return round(cosine_distance(a.vector, b.vector), 6), ""
    except ValueError as exc:
        return None, str(exc)


def drift_from_parent(persona: Persona) -> ParentDrift | None:
    """None for a persona that is no fork (or whose parent was deleted)."""
    if persona.parent_id is None:
        return None
    tree = effective_tree(persona.organization, persona.workspace)
    max_drift = float(tree["engine.pipeline.fork.max_drift_from_parent"])
    parent = Persona.objects.filter(organization=persona.organization, pk=persona.parent_id).first()
    if parent is None:
        return None
    distance, note = fingerprint_distance(Fingerprint.objects.latest_for(persona), Fingerprint.objects.latest_for(parent))
    return ParentDrift(distance, max_drift, note)


def family_tree(persona: Persona) -> list[dict]:
    """The tree `persona` belongs to, from its root, depth first: [{persona, depth, drift (ParentDrift | None),
    current}]. Only personas of the persona's organization."""
    org = persona.organization
    root, seen = persona, {persona.pk}
    for _ in range(MAX_DEPTH):
        if root.parent_id is None or root.parent_id in seen:
            break
        parent = Persona.objects.filter(organization=org, pk=root.parent_id).first()
        if parent is None:
            break
        seen.add(parent.pk)
        root = parent
    members = {root.pk: root}
    frontier = [root.pk]
    while frontier and len(members) < 500:
        children = list(Persona.objects.filter(organization=org, parent_id__in=frontier).order_by("created_at", "id"))
        frontier = [c.pk for c in children if c.pk not in members]
        members.update({c.pk: c for c in children})
    if len(members) == 1:
        return []
    latest = _latest_fingerprints(members.values())
    max_drift = float(effective_tree(org, persona.workspace)["engine.pipeline.fork.max_drift_from_parent"])
    children: dict[int, list[Persona]] = {}
    for member in members.values():
        if member.pk != root.pk:
            children.setdefault(member.parent_id, []).append(member)
    rows: list[dict] = []
    stack = [(root, 0)]
    while stack:  # depth first, children in the order they were made
        node, depth = stack.pop()
        drift = _drift(latest.get(node.pk), latest.get(node.parent_id), max_drift) if node.pk != root.pk else None
        rows.append({"persona": node, "depth": depth, "drift": drift, "current": node.pk == persona.pk})
        stack.extend((child, depth + 1) for child in reversed(children.get(node.pk, [])))
    return rows


def _drift(child: Fingerprint | None, parent: Fingerprint | None, max_drift: float) -> ParentDrift:
    distance, note = fingerprint_distance(child, parent)
    return ParentDrift(distance, max_drift, note)


def _latest_fingerprints(personas) -> dict[int, Fingerprint]:
    """Each persona's newest ready fingerprint, in one query."""
    latest: dict[int, Fingerprint] = {}
    rows = Fingerprint.objects.ready().filter(persona__in=[p.pk for p in personas]).order_by("-created_at", "-id")
    for fingerprint in rows:
        latest.setdefault(fingerprint.persona_id, fingerprint)
    return latest


def near_clones(organization) -> tuple[list[dict], float]:
    """Pairs of the org's personas whose newest fingerprints (same embedding model) are closer than the clone floor,
    closest first: ([{a, b, distance}], floor)."""
    floor = float(effective_tree(organization)["engine.pipeline.distinctiveness.clone_floor"])
    latest: dict[int, Fingerprint] = {}
    for fingerprint in (Fingerprint.objects.ready().filter(organization=organization).select_related("persona")
                        .order_by("-created_at", "-id")):
        latest.setdefault(fingerprint.persona_id, fingerprint)
    by_space: dict[str, list[Fingerprint]] = {}
    for fingerprint in latest.values():
        if fingerprint.vector:
            by_space.setdefault(fingerprint.embedding_model, []).append(fingerprint)
    pairs = []
    for group in by_space.values():
        if len(group) < 2:
            continue
        matrix = np.asarray([f.vector for f in group], dtype=float)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        units = matrix / np.where(norms > 0, norms, 1.0)
        distances = np.clip(1.0 - units @ units.T, 0.0, 2.0)
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                if distances[i, j] < floor:
                    pairs.append({"a": group[i].persona, "b": group[j].persona, "distance": round(float(distances[i, j]), 6)})
    pairs.sort(key=lambda pair: (pair["distance"], pair["a"].pk, pair["b"].pk))
    return pairs, floor


def distinctiveness_of(persona: Persona) -> dict | None:
    """The newest ready fingerprint's distinctiveness, with what it was measured against (None before any)."""
    fingerprint = Fingerprint.objects.latest_for(persona)
    if fingerprint is None:
        return None
    baseline = fingerprint.baseline
    return {
        "score": fingerprint.distinctiveness, "fingerprint_id": fingerprint.public_id, "version": fingerprint.version.number,
        "chat_model": baseline.chat_model if baseline else fingerprint.chat_model,
        "embedding_model": fingerprint.embedding_model, "scenarios": fingerprint.scenarios,
        "baseline_prompt": baseline.system_prompt if baseline else None,
    }


def persona_page_lineage(persona: Persona) -> dict:
    """The persona page's family tree, drift from the parent and distinctiveness (personas.pages registry)."""
    return {"family": family_tree(persona), "parent_drift": drift_from_parent(persona), "distinctiveness": distinctiveness_of(persona)}


def persona_list_clones(organization) -> dict:
    """The persona list's near-clones (personas.pages registry)."""
    pairs, floor = near_clones(organization)
    return {"near_clones": pairs, "clone_floor": floor}
