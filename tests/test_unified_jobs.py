"""Unified training jobs: the data mix, the curriculum over one adapter, behavioral-range evals, bad input."""

import pytest
from jinja2 import Template
from scipy.stats import binomtest

from studio.errors import Invalid, NotFound
from studio.principal import Principal
from tests.test_training_jobs_run import ScriptedBackend
from training_jobs import backends, composition
from training_jobs.backends.trl_backend import CHAT_TEMPLATE, sft_rows
from training_jobs.categories import CATEGORIES
from training_jobs.datasets.models import Dataset, DatasetRow
from training_jobs.models import JobStatus, TrainingJob
from training_jobs.engine import read_jsonl
from training_jobs.unified import UNIFIED_STAGES, unified_launch, unified_preflight

ANSWERS = {
    "technical": "The KeyError means the dict has no such key: use dict.get(key) or check `key in d` first.",
    "instructional": "First preheat the oven, then mix the flour and butter, then bake for twenty minutes.",
    "analytical": "Because both rise with temperature, the correlation does not show that one causes the other.",
    "conversational": "Ha, same here! What did you end up doing last weekend?",
    "empathetic": "I hear you, that sounds exhausting. It makes sense to feel overwhelmed right now.",
    "creative": "Once, in the quietest corner of the sky, a small star learned to hum.",
    "tool": 'search(query="recent transformer papers", limit=5)',
    "factual": "Lisbon is the capital of Portugal.",
    "ethical": "On the one hand it protects people; on the other, it limits choice for everyone affected.",
    "specialized": "Safety interlocks must be tested before every shift.",
}


def make_dataset(org, per_category=30, name="mixed", categories=CATEGORIES[:-1]) -> Dataset:
    dataset = Dataset.objects.create(organization=org, name=name)
    DatasetRow.objects.bulk_create([
        DatasetRow(dataset=dataset, position=i * 100 + n, category=category, source=f"src-{category}-{n}",
                   instruction=f"Question {n} about {category}?", output=f"{ANSWERS[category]} ({n})",
                   content_hash=f"{category}{n}")
        for i, category in enumerate(categories) for n in range(per_category)
    ])
    Dataset.objects.filter(pk=dataset.pk).update(row_count=per_category * len(categories))
    return dataset


QUICK = {"total_rows": 100, "max_steps_per_phase": 2, "batch_size": 4, "grad_accum": 1, "lora_rank": 4, "lora_alpha": 8,
         "eval_repeats": 1, "eval_max_new_tokens": 12, "max_length": 128}


@pytest.fixture
def owner(tenant):
    return Principal.from_membership(tenant.membership("owner"))


@pytest.fixture
def launch_unified(owner, django_capture_on_commit_callbacks):
    def run(dataset, **overrides) -> TrainingJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = unified_launch(principal=owner, data={"dataset_ids": [str(dataset.public_id)], **QUICK, **overrides})
        job.refresh_from_db()
        return job

    return run


def test_a_unified_job_trains_every_phase_of_one_adapter_and_evaluates_each_checkpoint(tenant, launch_unified):
    job = launch_unified(make_dataset(tenant.org))

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.kind == "unified" and job.persona is None
    assert [s.stage for s in job.stages.all()] == list(UNIFIED_STAGES)
    mix = job.stages.get(stage="compose").stats["mix"]
    assert mix["total"] == 100
    assert all(abs(bar["achieved"] - bar["target"]) <= 1.0 for bar in mix["bars"])

    curriculum = job.stages.get(stage="curriculum")
    phases = curriculum.stats["phases"]
    assert [p["name"] for p in phases] == ["foundation", "analytical", "empathic+creative", "mixed", "fine-tuning"]
    assert [p["learning_rate"] for p in phases] == [2e-5, 1.5e-5, 1e-5, 5e-6, 3e-6]
    for n in range(1, 6):
        assert curriculum.stats[f"phase_{n}_history"], f"phase {n} logged no step"  # per-phase loss curves
        assert (job.artifacts_dir / curriculum.artifacts[f"phase_{n}_adapter"] / "adapter_config.json").exists()
    assert {e.data.get("phase") for e in job.events.filter(type="train.metrics")} == {1, 2, 3, 4, 5}
    milestones = [e.data["milestone"] for e in job.events.filter(type="stage.progress") if "milestone" in e.data]
    assert milestones == [f"phase {n} of 5 trained" for n in range(1, 6)]  # the live page renders each (consumers.py)

    report = job.stages.get(stage="eval").stats["eval"]
    assert report["checkpoints"] == ["base"] + [f"{n}. {p['name']}" for n, p in enumerate(phases, start=1)]
    kinds = {row["kind"] for row in report["table"]}
    assert {"overall", "range", "consistency", "transition"} <= kinds
    overall = next(row for row in report["table"] if row["kind"] == "overall")
    assert len(overall["cells"]) == 6 and all(cell["interval"] is not None for cell in overall["cells"])

    # the outcome: the last checkpoint vs base, case by case, as the stored replies' grades say (exact McNemar)
    results = read_jsonl(job.artifacts_dir / job.stages.get(stage="eval").artifacts["results"])
    graded = {label: {r["case"]: r["passed"] for r in results if r["checkpoint"] == label and r["passed"] is not None}
              for label in ("base", "5. fine-tuning")}
    shared = set(graded["base"]) & set(graded["5. fine-tuning"])
    improved = sum(graded["5. fine-tuning"][c] and not graded["base"][c] for c in shared)
    regressed = sum(graded["base"][c] and not graded["5. fine-tuning"][c] for c in shared)
    assert job.outcome in ("improved", "no_clear_change", "worse") and report["outcome"] == job.outcome_detail
    paired = job.outcome_detail["paired"]
    assert paired["checkpoint"] == "5. fine-tuning" and paired["cases"] == len(shared)
    assert (paired["improved_cases"], paired["regressed_cases"]) == (improved, regressed)
    if improved + regressed:
        assert paired["p_value"] == pytest.approx(binomtest(improved, improved + regressed).pvalue)
    assert all(len(r["replies"]) >= 1 for r in results)  # the replies the job page shows side by side


def test_metadata_never_reaches_the_trainer(tenant, launch_unified, monkeypatch):
    backend = ScriptedBackend(sft=[{"loss": 2.0 - 0.1 * i} for i in range(3)])
    seen = []
    original = backend._train

    def capture(kind, rows, config, on_metrics, should_stop):
        seen.extend(rows)
        return original(kind, rows, config, on_metrics, should_stop)

    backend._train = capture
    monkeypatch.setattr(backends, "get_backend", lambda name: backend)
    dataset = make_dataset(tenant.org)
    job = launch_unified(dataset, eval_repeats=1)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(seen) == 300  # foundation, analytical, empathic+creative: the mix once; mixed and fine-tuning: all 100 again
    texts = [Template(CHAT_TEMPLATE).render(messages=row["messages"]) for row in sft_rows(seen)]  # what is tokenized
    sources = set(DatasetRow.objects.values_list("source", flat=True))
    for row, text in zip(seen, texts):
        assert set(row) == {"messages"}
        assert "_category" not in text and "_source" not in text and "<persona" not in text
        assert not any(source in text for source in sources)
    meta = read_jsonl(job.artifacts_dir / job.stages.get(stage="compose").artifacts["meta"])
    assert {m["source"] for m in meta} <= sources  # kept for analysis, beside the data


def _preflight(owner, dataset, **values):
    return unified_preflight(principal=owner, data={"dataset_ids": [str(dataset.public_id)], **QUICK, **values})


@pytest.mark.parametrize("shares, field", [
    ({**composition.DEFAULT_SHARES, "gossip": 0}, "composition.gossip"),
    ({**composition.DEFAULT_SHARES, "technical": 30}, "composition"),  # sums to 106
    ({**composition.DEFAULT_SHARES, "technical": -1, "instructional": 44}, "composition.technical"),
])
def test_bad_compositions_are_refused_naming_the_field(tenant, owner, shares, field):
    report = _preflight(owner, make_dataset(tenant.org), composition=shares)
    assert not report["ok"] and report["errors"][0]["field"].startswith(field)


def test_a_category_without_rows_and_a_phase_without_data_are_errors(tenant, owner):
    dataset = make_dataset(tenant.org, categories=[c for c in CATEGORIES[:-1] if c != "ethical"])
    report = _preflight(owner, dataset)
    assert not report["ok"] and any("ethical" in e["field"] and "no rows" in e["message"] for e in report["errors"])

    shares = {**composition.DEFAULT_SHARES, "ethical": 0, "technical": 27}
    phases = [{"name": "ethics only", "categories": ["ethical"], "learning_rate": 1e-5, "epochs": 1}]
    report = _preflight(owner, dataset, composition=shares, phases=phases)
    assert not report["ok"] and report["errors"][0]["field"] == "curriculum.phases.0.categories"


def test_launching_with_errors_is_a_422_and_stores_nothing(tenant, owner):
    dataset = make_dataset(tenant.org)
    with pytest.raises(Invalid) as raised:
        unified_launch(principal=owner, data={"dataset_ids": [str(dataset.public_id)], **QUICK, "phases": []})
    assert raised.value.field.startswith("curriculum")
    assert not TrainingJob.objects.exists()


def test_another_org_s_dataset_is_not_found(tenant, owner, outsider_tenant):
    theirs = make_dataset(outsider_tenant.org)
    with pytest.raises(NotFound):
        _preflight(owner, theirs)


def test_resuming_the_eval_reuses_the_trained_phases(tenant, launch_unified, monkeypatch, owner, django_capture_on_commit_callbacks):
    from training_jobs.services import training_job_resume

    backend = ScriptedBackend(sft=[{"loss": 1.0}])
    backend.sample = lambda prompts, config, **kw: ["I hear you, that sounds hard." for _ in prompts]
    monkeypatch.setattr(backends, "get_backend", lambda name: backend)
    job = launch_unified(make_dataset(tenant.org))
    assert job.status == JobStatus.SUCCEEDED, job.error
    with django_capture_on_commit_callbacks(execute=True):
        training_job_resume(principal=owner, job=job, stage="eval")
    job.refresh_from_db()
    runs = {s.stage: s.runs for s in job.stages.all()}
    assert job.status == JobStatus.SUCCEEDED and runs == {"compose": 1, "curriculum": 1, "eval": 2}


def test_a_phase_smaller_than_one_optimizer_step_is_a_warning(tenant, owner):
    report = _preflight(owner, make_dataset(tenant.org), grad_accum=8)  # 4 × 8 = 32 rows a step; ethical+… phases are smaller
    warnings = [w for w in report["warnings"] if "optimizer step" in w["message"]]
    assert warnings and warnings[0]["field"].startswith("curriculum.phases.")
