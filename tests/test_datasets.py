"""Datasets through the API and the pages: import (preview with errors by line, confirm), deduplication with
counts, the upload limit, export, generation with the offline engine, a training job's data as rows, scopes,
and outsiders."""

import json
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from training_jobs.datasets.models import Dataset, DatasetGeneration, DatasetImport, DatasetRow
from training_jobs.datasets.rows import CATEGORIES
from training_jobs.datasets.selectors import rows_by_category, rows_for
from training_jobs.datasets.services import dataset_imports_reap
from training_jobs.datasets.tasks import generation_run
from training_jobs.models import StageRun, TrainingJob
from training_jobs.services import constitution_current

WORDS = ("river lantern copper meadow orbit velvet harbor cedar signal ember quartz willow falcon prism tundra "
         "marble cobalt saffron glacier thistle beacon canyon dune ivory juniper lagoon mosaic nectar opal pepper").split()


@pytest.fixture(autouse=True)
def imports_dir(settings, tmp_path):
    settings.DATASET_IMPORTS_DIR = tmp_path / "dataset-imports"
    return settings.DATASET_IMPORTS_DIR


def prose(seed: int, words: int = 60) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(words))


def record(seed: int, category: str = "technical", source: str = "handwritten", **extra) -> dict:
    return {"instruction": f"Question {seed}: {prose(seed, 12)}?", "output": prose(seed + 10_000, 120), "_category": category, "_source": source, **extra}


def jsonl(*records) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


def upload(api, dataset_id, content: bytes, name: str = "rows.jsonl", **fields):
    return api.client.post(f"/v1/datasets/{dataset_id}/imports", data={"file": SimpleUploadedFile(name, content), **fields})


@pytest.fixture
def dataset(owner_api) -> dict:
    response = owner_api.post("/v1/datasets", json={"name": "Range v1", "description": "one adapter, many behaviours"})
    assert response.status_code == 201, response.content
    return response.json()


def preview(api, dataset, content: bytes, **fields) -> dict:
    response = upload(api, dataset["id"], content, **fields)
    assert response.status_code == 201, response.content
    return response.json()


def confirm(api, imported: dict, **body):
    return api.post(f"/v1/dataset-imports/{imported['id']}/confirm", json=body)


# --- datasets ------------------------------------------------------------------------------------


def test_a_dataset_is_created_listed_and_its_name_is_unique_in_the_org(owner_api, dataset):
    assert dataset["row_count"] == 0 and dataset["categories"] == {c: 0 for c in CATEGORIES}
    listed = owner_api.get("/v1/datasets").json()
    assert listed["count"] == 1 and listed["items"][0]["name"] == "Range v1"
    assert owner_api.post("/v1/datasets", json={"name": "Range v1"}).status_code == 409
    response = owner_api.post("/v1/datasets", json={"name": "  "})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["name"]


# --- import: validation --------------------------------------------------------------------------


def test_malformed_rows_are_reported_by_line_and_nothing_is_stored_before_the_confirm(owner_api, dataset):
    content = jsonl(record(1), '{"instruction": "broken', record(2, category="poetry"), {"instruction": "no answer", "_category": "factual"},
                    record(3), "[1, 2]")
    report = preview(owner_api, dataset, content)["report"]

    assert (report["rows_read"], report["valid"], report["invalid"], report["to_import"]) == (6, 2, 4, 2)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "row"), (3, "_category"), (4, "output"), (6, "row")]
    assert "not valid JSON" in report["errors"][0]["message"] and "poetry" in report["errors"][1]["message"]
    assert DatasetRow.objects.count() == 0
    assert owner_api.get(f"/v1/datasets/{dataset['id']}").json()["row_count"] == 0


def test_a_preview_with_invalid_rows_is_confirmed_only_when_skipping_them(owner_api, dataset):
    imported = preview(owner_api, dataset, jsonl(record(1), record(2, category="poetry"), record(3)))

    refused = confirm(owner_api, imported)
    assert refused.status_code == 409 and "skip_invalid" in refused.json()["detail"]
    assert DatasetRow.objects.count() == 0

    confirmed = confirm(owner_api, imported, skip_invalid=True)
    assert confirmed.status_code == 201 and confirmed.json()["status"] == "confirmed" and confirmed.json()["imported"] == 2
    assert list(DatasetRow.objects.order_by("position").values_list("position", "category", "source")) == [
        (0, "technical", "handwritten"), (1, "technical", "handwritten")]
    assert confirm(owner_api, imported, skip_invalid=True).status_code == 409  # once only


def test_a_clean_import_stores_rows_with_stats_and_removes_the_uploaded_file(owner_api, dataset, imports_dir):
    content = jsonl(record(1, "creative", "poems"), record(2, "creative", "poems"), record(3, "factual", "quiz"), record(4, "factual"))
    imported = preview(owner_api, dataset, content)
    assert imported["status"] == "previewed" and imported["report"]["categories"]["creative"] == 2
    assert len(list(imports_dir.iterdir())) == 2  # the file and its keep mask, until the confirm

    assert confirm(owner_api, imported).status_code == 201
    stats = owner_api.get(f"/v1/datasets/{dataset['id']}").json()
    assert stats["row_count"] == 4 and stats["categories"]["creative"] == 2 and stats["categories"]["factual"] == 2
    assert stats["sources"] == {"handwritten": 1, "poems": 2, "quiz": 1} and stats["source_count"] == 3
    assert list(imports_dir.iterdir()) == []


def test_rows_without_a_category_take_the_imports_default_and_sources_default_to_the_file(owner_api, dataset):
    content = jsonl({"instruction": "Say hi", "output": "Hi!"})
    assert preview(owner_api, dataset, content)["report"]["errors"][0]["field"] == "_category"
    imported = preview(owner_api, dataset, content, default_category="conversational")
    assert imported["report"]["errors"] == [] and imported["report"]["sample"][0]["category"] == "conversational"
    assert imported["report"]["sample"][0]["source"] == "import:rows.jsonl"


def test_chat_rows_import_with_their_messages(owner_api, dataset):
    chat = {"messages": [{"role": "system", "content": "Be warm."}, {"role": "user", "content": "I failed my exam."},
                         {"role": "assistant", "content": "That hurts. What happened?"}], "_category": "empathetic", "_source": "support"}
    not_ending_with_assistant = {"messages": [{"role": "user", "content": "Hello?"}], "_category": "empathetic"}
    imported = preview(owner_api, dataset, jsonl(chat, not_ending_with_assistant))
    assert imported["report"]["errors"] == [{"line": 2, "field": "messages[0].role", "message": "the last message must be the assistant's"}]
    confirm(owner_api, imported, skip_invalid=True)
    [row] = owner_api.get(f"/v1/datasets/{dataset['id']}/rows").json()["items"]
    assert row["messages"] == chat["messages"] and row["instruction"] == "" and row["category"] == "empathetic"


def test_a_csv_file_imports_and_a_csv_without_the_columns_fails_as_a_whole(owner_api, dataset):
    content = b'instruction,input,output,_category,_source\n"Sum these","2, 2",4,factual,maths\nName a colour,,Teal,creative,\n'
    imported = preview(owner_api, dataset, content, name="rows.csv")
    assert imported["format"] == "csv" and imported["report"]["valid"] == 2
    assert confirm(owner_api, imported).status_code == 201
    rows = owner_api.get(f"/v1/datasets/{dataset['id']}/rows").json()["items"]
    assert [(r["input"], r["source"]) for r in rows] == [("2, 2", "maths"), ("", "import:rows.csv")]

    failed = preview(owner_api, dataset, b"question,answer\nhi,there\n", name="other.csv")
    assert failed["status"] == "failed" and failed["report"]["file_error"]["field"] == "header"
    assert confirm(owner_api, failed).status_code == 409


def test_import_options_are_checked(owner_api, dataset):
    content = jsonl(record(1))
    assert upload(owner_api, dataset["id"], content, format="xml").status_code == 422
    assert upload(owner_api, dataset["id"], content, dedup_threshold="2").json()["detail"][0]["loc"] == ["dedup_threshold"]
    assert upload(owner_api, dataset["id"], content, default_category="poetry").status_code == 422
    missing = owner_api.client.post(f"/v1/datasets/{dataset['id']}/imports", data={"format": "jsonl"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["file"]


# --- import: duplicates --------------------------------------------------------------------------


def near_copy(r: dict) -> dict:
    """One word of the answer changed: word 5-gram Jaccard ≈ 0.93 with the original."""
    words = r["output"].split()
    words[len(words) // 2] = "different"
    return {**r, "output": " ".join(words), "_source": "copied"}


def test_planted_exact_and_near_duplicates_are_removed_with_counts_and_examples(owner_api, dataset):
    originals = [record(i) for i in range(40)]
    exact = [{**originals[i], "instruction": originals[i]["instruction"].upper() + "!!"} for i in range(0, 40, 8)]  # 5
    near = [near_copy(originals[i]) for i in range(1, 40, 5)]  # 8
    imported = preview(owner_api, dataset, jsonl(*originals, *exact, *near))
    dups = imported["report"]["duplicates"]

    assert (dups["exact"], dups["near"], dups["threshold"]) == (5, 8, 0.8)
    assert imported["report"]["to_import"] == 40
    first = next(x for x in dups["examples"] if x["kind"] == "exact")
    assert first["line"] == 41 and first["kept"] == {"line": 1} and first["kept_text"].startswith("Question 0")
    assert all(x["similarity"] >= 0.8 for x in dups["examples"] if x["kind"] == "near")

    confirm(owner_api, imported)
    assert DatasetRow.objects.count() == 40 and not DatasetRow.objects.filter(source="copied").exists()
    report = owner_api.get(f"/v1/datasets/{dataset['id']}/dedup-report").json()
    assert report["totals"] == {"exact": 5, "near": 8} and report["runs"][0]["kind"] == "import"


def test_the_threshold_is_respected(owner_api, dataset):
    originals = [record(i) for i in range(20)]
    near = [near_copy(r) for r in originals[:6]]
    assert preview(owner_api, dataset, jsonl(*originals, *near), dedup_threshold="0.8")["report"]["duplicates"]["near"] == 6
    strict = preview(owner_api, dataset, jsonl(*originals, *near), dedup_threshold="0.99")["report"]
    assert strict["duplicates"]["near"] == 0 and strict["duplicates"]["threshold"] == 0.99 and strict["to_import"] == 26


def test_rows_already_in_the_dataset_are_duplicates_too_even_when_they_arrive_after_the_preview(owner_api, dataset):
    confirm(owner_api, preview(owner_api, dataset, jsonl(*[record(i) for i in range(10)])))
    second = preview(owner_api, dataset, jsonl(record(0), near_copy(record(1)), record(50), record(51)))
    assert second["report"]["duplicates"]["against_dataset"] == {"exact": 1, "near": 1}
    assert second["report"]["to_import"] == 2 and second["report"]["duplicates"]["examples"][0]["kept"] == {"row": 0}

    third = preview(owner_api, dataset, jsonl(record(50), record(52)))  # previewed before the second is confirmed
    confirm(owner_api, second)
    confirmed = confirm(owner_api, third).json()
    assert confirmed["imported"] == 1 and confirmed["report"]["duplicates"]["against_dataset"]["exact"] == 1
    assert owner_api.get(f"/v1/datasets/{dataset['id']}").json()["row_count"] == 13


# --- the upload limit ------------------------------------------------------------------------------


def test_an_upload_over_the_limit_is_refused_with_413_before_it_is_read(owner_api, dataset, settings, imports_dir):
    settings.DATASET_UPLOAD_MAX_BYTES = 1000
    response = upload(owner_api, dataset["id"], b"x" * 200_000)
    assert response.status_code == 413 and "1,000 bytes" in response.json()["detail"]
    # a client announcing 2 GB is refused on the header alone
    response = owner_api.client.post(f"/v1/datasets/{dataset['id']}/imports", data={"file": SimpleUploadedFile("big.jsonl", b"{}")},
                                     CONTENT_LENGTH=str(2 * 1024**3))
    assert response.status_code == 413
    assert DatasetImport.objects.count() == 0


def test_an_upload_growing_past_the_limit_while_streaming_is_stopped_with_413(owner_api, dataset, settings, imports_dir):
    settings.DATASET_UPLOAD_MAX_BYTES = 1000  # Content-Length is within the multipart allowance: the stream counter stops it
    response = upload(owner_api, dataset["id"], jsonl(*[record(i) for i in range(5)]))
    assert response.status_code == 413 and "DATASET_UPLOAD_MAX_BYTES" in response.json()["detail"]
    assert DatasetImport.objects.count() == 0 and list(imports_dir.iterdir()) == []  # the partial file is gone


def test_the_import_page_refuses_an_oversized_upload_too(tenant, client_for, settings, imports_dir):
    settings.DATASET_UPLOAD_MAX_BYTES = 1000
    client = client_for(tenant.owner)
    response = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("big.jsonl", b"x" * 5000), "dataset_name": "Big"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 413 and b"upload limit" in response.content
    assert list(imports_dir.iterdir()) == []


# --- export --------------------------------------------------------------------------------------


def test_the_export_round_trips_with_its_metadata(owner_api, dataset, api_for, tenant):
    chat = {"messages": [{"role": "user", "content": "Plan my day"}, {"role": "assistant", "content": "Start with the hard task."}],
            "_category": "instructional", "_source": "coach"}
    originals = [record(1, "creative", "poems"), {**record(2, "tool", "api"), "input": "context here"}, chat]
    confirm(owner_api, preview(owner_api, dataset, jsonl(*originals)))

    response = owner_api.get(f"/v1/datasets/{dataset['id']}/export")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    assert 'filename="range-v1.jsonl"' in response["Content-Disposition"]
    exported = b"".join(response.streaming_content)
    assert [json.loads(line) for line in exported.splitlines()] == originals

    other = owner_api.post("/v1/datasets", json={"name": "Copy"}).json()
    again = preview(owner_api, other, exported, name="range-v1.jsonl")
    assert again["report"]["errors"] == [] and confirm(owner_api, again).status_code == 201
    copied = b"".join(owner_api.get(f"/v1/datasets/{other['id']}/export").streaming_content)
    assert copied == exported
    only_tool = b"".join(owner_api.get(f"/v1/datasets/{dataset['id']}/export?category=tool").streaming_content)
    assert [json.loads(line)["_source"] for line in only_tool.splitlines()] == ["api"]


# --- generation and a job's data -------------------------------------------------------------------


def test_generation_with_the_offline_engine_adds_rows_per_category(owner_api, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/v1/datasets/{dataset['id']}/generate", json={"per_category": {"technical": 4, "empathetic": 3, "creative": 0}})
    assert response.status_code == 202, response.content
    assert response.json()["engine"] == "offline" and response.json()["per_category"] == {"technical": 4, "empathetic": 3}

    generation = owner_api.get(f"/v1/dataset-generations/{response.json()['id']}").json()
    assert generation["status"] == "completed" and generation["calls_done"] == generation["calls_total"] == 7
    assert generation["created"] + generation["duplicates"]["exact"] + generation["duplicates"]["near"] == 7
    stats = owner_api.get(f"/v1/datasets/{dataset['id']}").json()
    assert stats["categories"]["technical"] >= 3 and stats["categories"]["empathetic"] >= 2 and stats["row_count"] == generation["created"]
    assert set(stats["sources"]) == {"generated:offline/studio"}
    row = owner_api.get(f"/v1/datasets/{dataset['id']}/rows?category=technical").json()["items"][0]
    assert row["instruction"] and row["output"]


@pytest.mark.parametrize("body, field", [
    ({"per_category": {"poetry": 2}}, "per_category.poetry"),
    ({"per_category": {"technical": 5000}}, "per_category.technical"),
    ({"per_category": {"technical": 0}}, "per_category"),
])
def test_a_generation_asks_for_known_categories_and_sensible_counts(owner_api, dataset, body, field):
    response = owner_api.post(f"/v1/datasets/{dataset['id']}/generate", json=body)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [field]
    assert DatasetGeneration.objects.count() == 0


@pytest.fixture
def job_with_data(tenant, persona, settings, tmp_path) -> TrainingJob:
    """A character job whose DPO-data and introspection stages wrote their files (one row of each is a duplicate)."""
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"
    job = TrainingJob.objects.create(organization=tenant.org, workspace=persona.workspace, persona=persona,
                                     constitution=constitution_current(persona=persona), name="ines-character", params={}, status="succeeded")
    root = job.artifacts_dir
    (root / "dpo_data").mkdir(parents=True)
    (root / "introspection").mkdir()
    pairs = [{"prompt": f"Question {i}: {prose(i, 10)}", "chosen": prose(i + 500), "rejected": "meh", "teacher_model": "t"} for i in range(6)]
    pairs.append(pairs[0])
    (root / "dpo_data" / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    reflections = [{"prompt": f"Who are you, really? ({i}) {prose(i + 900, 8)}", "response": prose(i + 700), "has_trace": False} for i in range(4)]
    (root / "introspection" / "reflections.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reflections))
    (root / "introspection" / "interactions.jsonl").write_text(json.dumps({"system": "I am Ines.", "turns": ["Hello, me.", "Hello, you.", "Shall we?"]}) + "\n")
    StageRun.objects.create(job=job, stage="dpo_data", position=1, status="completed", artifacts={"pairs": "dpo_data/pairs.jsonl"})
    StageRun.objects.create(job=job, stage="introspection", position=3, status="completed",
                            artifacts={"reflections": "introspection/reflections.jsonl", "interactions": "introspection/interactions.jsonl"})
    return job


def test_a_training_jobs_pairs_and_reflections_are_included_as_rows(owner_api, dataset, job_with_data):
    response = owner_api.post(f"/v1/datasets/{dataset['id']}/include-job", json={"training_job_id": str(job_with_data.public_id)})
    assert response.status_code == 201, response.content
    report = response.json()
    assert report["added"] == 10 and report["duplicates"] == {"exact": 1, "near": 0}
    assert report["parts"]["dpo"] == {"rows": 7, "skipped": 0, "missing": False}

    stats = owner_api.get(f"/v1/datasets/{dataset['id']}").json()
    assert stats["categories"]["conversational"] == 6 and stats["categories"]["empathetic"] == 4
    assert stats["sources"] == {"job:ines-character:dpo": 6, "job:ines-character:reflection": 4}
    dpo = owner_api.get(f"/v1/datasets/{dataset['id']}/rows?category=conversational").json()["items"][0]
    assert dpo["instruction"].startswith("Question 0") and dpo["output"] == prose(500)

    again = owner_api.post(f"/v1/datasets/{dataset['id']}/include-job", json={"training_job_id": str(job_with_data.public_id)}).json()
    assert again["added"] == 0 and again["against_dataset"]["exact"] == 11  # everything is there already


def test_the_user_picks_the_parts_and_their_categories(owner_api, dataset, job_with_data):
    body = {"training_job_id": str(job_with_data.public_id), "parts": ["reflections", "interactions"],
            "categories": {"reflections": "ethical", "interactions": "creative"}}
    report = owner_api.post(f"/v1/datasets/{dataset['id']}/include-job", json=body).json()
    assert report["added"] == 5
    [chat] = owner_api.get(f"/v1/datasets/{dataset['id']}/rows?category=creative").json()["items"]
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant"]  # the opener's copy answers last
    bad = owner_api.post(f"/v1/datasets/{dataset['id']}/include-job", json={**body, "categories": {"reflections": "poetry"}})
    assert bad.status_code == 422


def test_a_job_without_data_files_is_a_conflict(owner_api, dataset, tenant, persona):
    job = TrainingJob.objects.create(organization=tenant.org, workspace=persona.workspace, persona=persona,
                                     constitution=constitution_current(persona=persona), name="empty", params={})
    response = owner_api.post(f"/v1/datasets/{dataset['id']}/include-job", json={"training_job_id": str(job.public_id)})
    assert response.status_code == 409 and "dpo" in response.json()["detail"]


# --- what the trainer reads ------------------------------------------------------------------------


def test_rows_by_category_and_rows_for_give_the_trainer_rows_in_order(owner_api, dataset):
    confirm(owner_api, preview(owner_api, dataset, jsonl(record(1, "creative"), record(2, "tool"), record(3, "creative"))))
    other = owner_api.post("/v1/datasets", json={"name": "Second"}).json()
    confirm(owner_api, preview(owner_api, other, jsonl(record(4, "creative"))))
    datasets = list(Dataset.objects.order_by("id"))

    ids = rows_by_category(datasets)
    assert list(ids) == list(CATEGORIES) and len(ids["creative"]) == 3 and len(ids["tool"]) == 1 and ids["factual"] == []
    rows = rows_for(list(reversed(ids["creative"])))
    assert [r.instruction.split(":")[0] for r in rows] == ["Question 4", "Question 3", "Question 1"]


# --- scopes and outsiders --------------------------------------------------------------------------


def test_reading_needs_training_read_and_changing_needs_training_write(tenant, api_for, dataset):
    reader = api_for(tenant.org, scopes=["training:read"])
    assert reader.get("/v1/datasets").status_code == 200
    assert reader.get(f"/v1/datasets/{dataset['id']}/export").status_code == 200
    assert reader.post("/v1/datasets", json={"name": "Nope"}).status_code == 403
    assert upload(reader, dataset["id"], jsonl(record(1))).status_code == 403
    assert reader.post(f"/v1/datasets/{dataset['id']}/generate", json={"per_category": {"tool": 1}}).status_code == 403
    unrelated = api_for(tenant.org, scopes=["personas:read"])
    assert unrelated.get("/v1/datasets").status_code == 403
    assert unrelated.get(f"/v1/datasets/{dataset['id']}").status_code == 403


def test_another_orgs_datasets_imports_and_generations_are_404(owner_api, dataset, outsider_tenant, api_for, django_capture_on_commit_callbacks):
    imported = preview(owner_api, dataset, jsonl(record(1)))
    generation = owner_api.post(f"/v1/datasets/{dataset['id']}/generate", json={"per_category": {"tool": 1}}).json()  # stays queued
    outsider = api_for(outsider_tenant.org)
    for path in (f"/v1/datasets/{dataset['id']}", f"/v1/datasets/{dataset['id']}/export", f"/v1/datasets/{dataset['id']}/dedup-report",
                 f"/v1/dataset-imports/{imported['id']}", f"/v1/dataset-generations/{generation['id']}"):
        assert outsider.get(path).status_code == 404, path
    assert confirm(outsider, imported).status_code == 404
    assert upload(outsider, dataset["id"], jsonl(record(2))).status_code == 404
    assert outsider.get("/v1/datasets").json()["count"] == 0
    assert DatasetRow.objects.count() == 0


# --- pages ---------------------------------------------------------------------------------------


def test_the_library_lists_datasets_with_rows_and_category_bars(tenant, client_for, owner_api, dataset):
    confirm(owner_api, preview(owner_api, dataset, jsonl(record(1, "creative"), record(2, "tool"))))
    page = client_for(tenant.user("viewer")).get("/o/acme/datasets/").content.decode()
    assert "Range v1" in page and 'class="stacked-bar"' in page and "creative 1" in page
    assert "Import a file" not in page  # viewers read only


def test_a_dataset_is_imported_through_the_pages(tenant, client_for, imports_dir):
    client = client_for(tenant.user("editor"))
    form = client.get("/o/acme/datasets/import/")
    assert form.status_code == 200 and b'name="dedup_threshold"' in form.content

    content = jsonl(record(1), record(2, "poetry"), record(3), record(1))
    fragment = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("mine.jsonl", content), "dataset_name": "From the page"},
                           HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert fragment.status_code == 200 and 'data-testid="import-preview"' in html
    assert "poetry" in html and 'data-testid="exact-duplicates">1<' in html
    assert "Import 2 valid rows, skip 1 invalid, leave out 1 duplicate</button>" in html  # what the button does (issue 18)
    assert not Dataset.objects.exists()  # created by the confirm

    imported = DatasetImport.objects.get()
    refused = client.post(f"/o/acme/datasets/imports/{imported.public_id}/confirm/", HTTP_HX_REQUEST="true")
    assert refused.status_code == 409 and b"invalid" in refused.content  # a post without the button's skip_invalid
    done = client.post(f"/o/acme/datasets/imports/{imported.public_id}/confirm/", {"skip_invalid": "on"}, HTTP_HX_REQUEST="true")
    dataset = Dataset.objects.get(name="From the page")
    assert done.status_code == 200 and done["HX-Redirect"] == f"/o/acme/datasets/{dataset.public_id}/"
    assert dataset.row_count == 2

    detail = client.get(f"/o/acme/datasets/{dataset.public_id}/").content.decode()
    assert 'data-testid="category-breakdown"' in detail and "<strong>1</strong> exact" in detail and "handwritten" in detail


def test_the_import_page_without_htmx_goes_to_the_preview_page(tenant, client_for, owner_api, dataset):
    client = client_for(tenant.owner)
    response = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("x.jsonl", jsonl(record(1))), "dataset": dataset["id"]})
    imported = DatasetImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/o/acme/datasets/imports/{imported.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "Range v1" in page and "Import 1 valid row</button>" in page


def test_an_upload_form_error_is_shown_in_place(tenant, client_for):
    client = client_for(tenant.owner)
    response = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("x.jsonl", b"{}"), "dataset_name": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and b"needs a name" in response.content


def test_viewers_cannot_import_generate_or_create(tenant, client_for, owner_api, dataset):
    client = client_for(tenant.user("viewer"))
    assert client.get("/o/acme/datasets/import/").status_code == 403
    response = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("x.jsonl", jsonl(record(1))), "dataset": dataset["id"]})
    assert response.status_code == 403
    assert client.post(f"/o/acme/datasets/{dataset['id']}/generate/", {"n_tool": "2"}).status_code == 403
    assert client.post("/o/acme/datasets/new/", {"name": "x"}).status_code == 403


def test_generation_from_the_page_shows_progress_then_the_result(tenant, client_for, owner_api, dataset):
    client = client_for(tenant.owner)
    page = client.get(f"/o/acme/datasets/{dataset['id']}/").content.decode()
    assert 'data-testid="generate-rows"' in page and "offline engine" in page
    response = client.post(f"/o/acme/datasets/{dataset['id']}/generate/", {"n_tool": "2"}, HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in response.content  # queued: the fragment polls
    generation = DatasetGeneration.objects.get()  # queued: the test transaction never commits
    generation_run(generation.pk)
    done = client.get(f"/o/acme/datasets/generations/{generation.public_id}/").content.decode()
    assert "every 1s" not in done and "row(s) added" in done


def test_a_job_is_included_from_the_page(tenant, client_for, owner_api, dataset, job_with_data):
    client = client_for(tenant.owner)
    page = client.get(f"/o/acme/datasets/{dataset['id']}/").content.decode()
    assert "ines-character" in page
    response = client.post(f"/o/acme/datasets/{dataset['id']}/include-job/",
                           {"training_job_id": str(job_with_data.public_id), "part_dpo": "on", "category_dpo": "analytical"})
    assert response.status_code == 302
    assert Dataset.objects.get().categories["analytical"] == 6


def test_stale_previews_and_their_files_are_removed(owner_api, dataset, imports_dir):
    imported = preview(owner_api, dataset, jsonl(record(1)))
    assert dataset_imports_reap(older_than_s=3600) == 0
    DatasetImport.objects.update(created_at="2000-01-01T00:00:00Z")
    assert dataset_imports_reap() == 1
    assert list(imports_dir.iterdir()) == [] and owner_api.get(f"/v1/dataset-imports/{imported['id']}").status_code == 404


def test_the_dedup_history_keeps_twenty_runs_and_examples_for_the_last_five(owner_api, dataset):
    for i in range(22):
        confirm(owner_api, preview(owner_api, dataset, jsonl(record(100 + i), record(100 + i))))
    runs = owner_api.get(f"/v1/datasets/{dataset['id']}/dedup-report").json()["runs"]
    assert len(runs) == 20 and [bool(r["examples"]) for r in runs] == [True] * 5 + [False] * 15
    assert owner_api.get(f"/v1/datasets/{dataset['id']}").json()["dedup"] == {"exact": 22, "near": 0}
