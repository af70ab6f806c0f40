"""Issue 18, datasets: the import button says what it will do and does it, rows are numbered from 1 on every page, and
including a training job's data shows its effect on the mix before anything is added."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from training_jobs.datasets.models import Dataset, DatasetImport
from tests.test_datasets import dataset, imports_dir, job_with_data, jsonl, record  # noqa: F401  (fixtures)


def test_the_import_button_says_what_it_does_and_one_click_does_it(tenant, client_for, imports_dir):  # noqa: F811
    client = client_for(tenant.user("editor"))
    content = jsonl(*(record(i) for i in range(1, 5)), record(7, "poetry"), record(8, "poetry"), record(2))
    html = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("m.jsonl", content), "dataset_name": "Mine"},
                       HTTP_HX_REQUEST="true").content.decode()
    form = re.search(r'<form class="confirm-form".*?</form>', html, re.S).group(0)
    assert "Import 4 valid rows, skip 2 invalid, leave out 1 duplicate</button>" in form
    assert "skip_invalid" not in html.replace(form, "")  # no checkbox, no option name shown to people
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    done = client.post(re.search(r'action="([^"]+)"', form).group(1), fields, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and Dataset.objects.get(name="Mine").row_count == 4


def test_a_clean_file_s_button_counts_only_rows(tenant, client_for, imports_dir):  # noqa: F811
    client = client_for(tenant.user("editor"))
    html = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("m.jsonl", jsonl(record(1))), "dataset_name": "One"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "Import 1 valid row</button>" in html and 'name="skip_invalid"' not in html


def test_rows_are_numbered_from_one_on_the_dataset_page_as_in_the_preview(tenant, client_for, imports_dir):  # noqa: F811
    client = client_for(tenant.user("editor"))
    html = client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("m.jsonl", jsonl(record(1), record(2))),
                                                    "dataset_name": "Two"}, HTTP_HX_REQUEST="true").content.decode()
    assert re.search(r"<tr><td>1</td><td>technical</td>", html)  # the preview's first row is line 1
    imported = DatasetImport.objects.get()
    client.post(f"/o/acme/datasets/imports/{imported.public_id}/confirm/", HTTP_HX_REQUEST="true")
    page = client.get(f"/o/acme/datasets/{Dataset.objects.get().public_id}/").content.decode()
    numbers = re.findall(r'<tr><td class="num">(\d+)</td><td><span class="cat-dot', page)
    assert numbers == ["1", "2"]


def test_including_a_job_shows_the_mix_before_and_after_and_warns_of_a_skew(tenant, client_for, dataset, job_with_data):  # noqa: F811
    client = client_for(tenant.owner)
    client.post("/o/acme/datasets/import/", {"file": SimpleUploadedFile("m.jsonl", jsonl(*(record(i) for i in range(1, 11)))),
                                             "dataset": dataset["id"]}, HTTP_HX_REQUEST="true")
    client.post(f"/o/acme/datasets/imports/{DatasetImport.objects.get().public_id}/confirm/", HTTP_HX_REQUEST="true")
    page = client.get(f"/o/acme/datasets/{dataset['id']}/").content.decode()
    assert 'hx-post="/o/acme/datasets/%s/include-job/preview/"' % dataset["id"] in page and 'id="include-preview"' in page

    post = {"training_job_id": str(job_with_data.public_id), "part_dpo": "on", "category_dpo": "conversational",
            "part_reflections": "on", "category_reflections": "empathetic"}
    html = client.post(f"/o/acme/datasets/{dataset['id']}/include-job/preview/", post, HTTP_HX_REQUEST="true").content.decode()
    # Independently: 10 technical rows now; the job adds 7 pairs (one a duplicate, counted before dedup) and 4 reflections.
    assert "Adds up to 11 rows" in html and "10 → 21 rows" in html
    technical = re.search(r'data-category="technical">.*?</tr>', html, re.S).group(0)
    assert f"100.0 % → <strong>{100 * 10 / 21:.1f} %</strong>" in technical
    conversational = re.search(r'data-category="conversational">.*?</tr>', html, re.S).group(0)
    assert "+7" in conversational and f"0.0 % → <strong>{100 * 7 / 21:.1f} %</strong>" in conversational
    assert 'data-testid="mix-skew"' in html and "technical, conversational, empathetic" in html
    assert Dataset.objects.get().row_count == 10  # nothing added by the preview


def test_the_preview_needs_the_right_to_add_rows(tenant, client_for, dataset, job_with_data):  # noqa: F811
    response = client_for(tenant.user("viewer")).post(f"/o/acme/datasets/{dataset['id']}/include-job/preview/",
                                                      {"training_job_id": str(job_with_data.public_id), "part_dpo": "on"})
    assert response.status_code == 403
