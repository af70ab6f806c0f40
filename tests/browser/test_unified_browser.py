"""Unified training in Chromium, end to end (issue 8): import a JSONL dataset through the library (a malformed line
reported by number, planted duplicates counted, the invalid row skipped), then the Unified form: pick the dataset,
a composition (a sum other than 100 first, which the pre-flight names), a curriculum with one phase removed and a
learning rate changed, quick sizes; launch, and watch the job page follow the phases live to the behavioral-range
table with a column per checkpoint."""

import json
import random
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-8642"
CATEGORIES = ("technical", "instructional", "analytical", "conversational", "empathetic", "creative", "tool", "factual", "ethical")
PER_CATEGORY = 12
MALFORMED_LINE = 20  # a line cut off mid-object
# Shares for 90 rows out of 12 per category (none needs more than 12) that sum to 100; technical first left at its
# default (24), so the sum is 111 and the pre-flight refuses it.
SHARES = {"technical": "13", "instructional": "13", "analytical": "12", "conversational": "11", "empathetic": "11",
          "creative": "10", "tool": "10", "factual": "10", "ethical": "10"}
QUICK = {"total_rows": "90", "max_steps_per_phase": "2", "batch_size": "4", "grad_accum": "1", "lora_rank": "4",
         "lora_alpha": "8", "eval_repeats": "1", "eval_max_new_tokens": "12", "max_length": "128", "name_suffix": "browser-range"}
# The default curriculum with the last phase ("fine-tuning") removed and the "mixed" phase's rate changed.
PHASES = [("foundation", 2e-5), ("analytical", 1.5e-5), ("empathic+creative", 1e-5), ("mixed", 8e-6)]
WORDS = ("amber lantern quarry violet engine harbor thistle copper meadow signal pocket ledger orbit canyon willow "
         "glacier velvet compass pepper marble falcon tunnel garnet ripple saddle beacon cobalt juniper ember sketch "
         "anchor basalt cinder dune feather gravel hollow ivory jasper kettle lagoon mosaic nectar oyster prism quill "
         "raven summit timber umber vessel walnut yarrow zephyr birch cedar delta fjord grove heron inlet kelp").split()

# Rows per category and the stored import runs, read where the server stores them.
DATASET = """
import json
from training_jobs.datasets.models import Dataset
d = Dataset.objects.get(organization__slug="rangeworks", name="{name}")
print(json.dumps({{"id": str(d.public_id), "rows": d.row_count, "categories": d.categories, "dedup": d.stats.get("dedup")}}))
"""
# What the job stored: its params and each stage's state and shape.
STORED = """
import json
from training_jobs.models import TrainingJob
job = TrainingJob.objects.get(public_id="{job_id}")
stages = {{s.stage: s for s in job.stages.all()}}
print(json.dumps({{
    "status": job.status, "kind": job.kind, "params": job.params,
    "stages": {{name: s.status for name, s in stages.items()}},
    "mix": stages["compose"].stats.get("mix"), "phases": stages["curriculum"].stats.get("phases"),
    "checkpoints": stages["eval"].stats.get("eval", {{}}).get("checkpoints"),
}}))
"""
# Records, at every change the socket swaps in, the curriculum stage's state and progress, which phases are done
# and which phase curves are drawn.
OBSERVE = """() => {
    window.sameDocument = true;
    window.wsMessages = 0;
    document.body.addEventListener('htmx:wsAfterMessage', () => { window.wsMessages += 1; });
    const record = () => {
        const panel = document.querySelector('[data-testid=job-panel]');
        if (!panel) return;
        const stage = panel.querySelector('tr[data-testid=stage-curriculum]');
        const bar = stage && stage.querySelector('[role=progressbar]');
        const phases = {};
        panel.querySelectorAll('[data-testid=phases] tr[data-testid^=phase-]').forEach(row => {
            phases[row.dataset.testid.slice(6)] = !row.classList.contains('muted');
        });
        const curves = Array.from(panel.querySelectorAll('[data-testid^=curves-curriculum-phase-]')).map(el => el.dataset.testid.slice(24));
        window.recordPanel({status: panel.dataset.status, stage: stage ? stage.dataset.state : null,
                            percent: bar ? Number(bar.getAttribute('aria-valuenow')) : null, phases, curves});
    };
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true});
    record();
}"""


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _jsonl(path) -> dict:
    """108 distinct rows (12 per category), a malformed line, two exact duplicates (one re-cased and re-punctuated)
    and a near duplicate of a long row. Random words: no two distinct rows share a 5-gram by chance."""
    rng = random.Random(8)
    rows = []
    for category in CATEGORIES:
        for n in range(PER_CATEGORY):
            words = 70 if (category, n) == ("technical", 0) else 16
            rows.append({"instruction": f"{category} question {n}: {_sentence(rng, 10)}?", "output": _sentence(rng, words) + ".",
                         "_category": category, "_source": f"browser-{category}-{n % 3}"})
    exact = [{**rows[5], "_source": "copy"},
             {**rows[40], "instruction": rows[40]["instruction"].upper().replace("?", "!"), "_source": "copy"}]
    near = {**rows[0], "output": rows[0]["output"][:-1] + " indeed.", "_source": "copy"}
    lines = [json.dumps(r) for r in rows]
    lines.insert(MALFORMED_LINE - 1, '{"instruction": "a row cut off mid-object", "output": ')
    lines += [json.dumps(r) for r in (*exact, near)]
    path.write_text("\n".join(lines) + "\n")
    return {"lines": len(lines), "valid": len(lines) - 1, "exact": 2, "near": 1, "to_import": len(rows)}


def _json(server, script: str) -> dict:
    return json.loads(server.manage("shell", "-c", script).strip().splitlines()[-1])


def _wait_preflight(page, ok: bool) -> None:
    expect(page.get_by_test_id("preflight")).to_have_attribute("data-ok", "true" if ok else "false")


def test_an_editor_imports_a_dataset_and_watches_a_unified_curriculum_train_live(studio_server, page, tmp_path):
    timings = {"start": time.monotonic()}
    studio_server.manage("create_org", "--name", "Range Works", "--slug", "rangeworks")
    studio_server.manage("add_member", "--org", "rangeworks", "--email", "ula@rangeworks.test", "--role", "editor", "--password", PASSWORD)
    log_in(page, studio_server, "ula@rangeworks.test", PASSWORD)
    org = studio_server.url + "/o/rangeworks"

    # --- the dataset library: import a file into a new dataset --------------------------------------------------
    page.goto(org + "/datasets/")
    page.get_by_test_id("import-dataset").click()
    page.wait_for_url(org + "/datasets/import/")
    upload = tmp_path / "range-mix.jsonl"
    expected = _jsonl(upload)
    page.get_by_test_id("import-file").set_input_files(str(upload))
    page.get_by_test_id("import-dataset-name").fill("range mix")
    page.get_by_test_id("preview-import").click()

    preview = page.get_by_test_id("import-preview")
    preview.wait_for()
    assert page.url == org + "/datasets/import/", "the preview should arrive in place"
    counts = dict(zip(preview.locator(".import-counts dt").all_inner_texts(), preview.locator(".import-counts dd").all_inner_texts()))
    assert counts == {"Rows read": str(expected["lines"]), "Valid": str(expected["valid"]), "Invalid": "1",
                      "Exact duplicates": str(expected["exact"]), "Near duplicates": str(expected["near"]),
                      "To import": str(expected["to_import"])}, counts
    errors = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(errors).to_have_count(1)
    line, field, problem = errors.first.locator("td").all_inner_texts()
    assert line == str(MALFORMED_LINE) and field == "row" and "not valid JSON" in problem
    page.get_by_test_id("duplicate-examples").locator("summary").click()
    expect(page.get_by_test_id("duplicate-examples")).to_contain_text("near")
    screenshot(page, "unified-import-preview")

    # One button says what it does and does it (issue 18): no checkbox to tick first.
    expect(page.get_by_test_id("confirm-import")).to_contain_text(f"Import {expected['to_import']} valid rows, skip 1 invalid")
    page.get_by_test_id("confirm-import").click()
    page.wait_for_url(re.compile(r".*/o/rangeworks/datasets/[0-9a-f-]{36}/$"))
    dataset_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.get_by_test_id("row-count")).to_have_text(f"{expected['to_import']} rows")
    bars = page.get_by_test_id("category-breakdown").locator("li:not(.empty)")
    shown = {b.locator(".cat-name").inner_text().strip(): b.locator(".cat-count").inner_text().split()[0] for b in bars.all()}
    assert shown == dict.fromkeys(CATEGORIES, str(PER_CATEGORY)), shown
    expect(page.get_by_test_id("dedup-report")).to_contain_text("2 exact and 1 near duplicates")
    screenshot(page, "unified-dataset")
    stored = _json(studio_server, DATASET.format(name="range mix"))
    assert stored["id"] == dataset_id and stored["rows"] == expected["to_import"]
    assert {c: n for c, n in stored["categories"].items() if n} == dict.fromkeys(CATEGORIES, PER_CATEGORY)
    assert stored["dedup"] == {"exact": expected["exact"], "near": expected["near"]}
    timings["dataset"] = time.monotonic()

    # --- the Unified form ---------------------------------------------------------------------------------------
    page.goto(org + "/training/unified/new/")
    pick = page.get_by_test_id(f"dataset-{dataset_id}")
    expect(pick).to_contain_text("range mix")
    expect(pick.locator(".count-chip[data-category=technical]")).to_have_text("technical 12")
    pick.locator("input").check()
    _wait_preflight(page, ok=True)  # the default curriculum and shares on 108 rows: a smaller mix, but it runs

    # A composition that sums to 111: technical is still at its default 24.
    for category, share in SHARES.items():
        if category != "technical":
            page.locator(f"#share-{category}").fill(share)
    page.locator("#share-ethical").press("Tab")
    expect(page.get_by_test_id("share-sum")).to_have_text("111%")
    expect(page.get_by_test_id("share-sum")).to_have_class(re.compile(r"\boff\b"))
    _wait_preflight(page, ok=False)
    error = page.get_by_test_id("preflight-errors").locator("[data-field=composition]")
    expect(error).to_contain_text("Composition")
    expect(error).to_contain_text("shares sum to 111, not 100")
    screenshot(page, "unified-form-bad-composition")
    page.locator("#share-technical").fill(SHARES["technical"])
    page.locator("#share-technical").press("Tab")
    expect(page.get_by_test_id("share-sum")).to_have_text("100%")
    _wait_preflight(page, ok=True)

    # The curriculum: the last phase removed, the "mixed" phase at a lower rate.
    phases = page.get_by_test_id("phase-table").locator("tbody.phase")
    expect(phases).to_have_count(5)
    page.get_by_test_id("remove-phase-4").click()
    expect(phases).to_have_count(len(PHASES))
    assert [phases.nth(i).locator("input[name$=-name]").input_value() for i in range(len(PHASES))] == [n for n, _ in PHASES]
    page.locator("input[name=phases-3-learning_rate]").fill("8e-6")

    for name, value in QUICK.items():
        page.get_by_test_id(f"field-{name}").fill(value)
    page.get_by_test_id("field-name_suffix").press("Tab")

    # The pre-flight: the 90-row mix against the targets, and the four phases with their steps and rates.
    _wait_preflight(page, ok=True)
    estimate = page.get_by_test_id("estimate")
    expect(estimate).to_contain_text("90 of 108 rows")
    expect(page.get_by_test_id("mix-explanation")).to_contain_text("“Total rows” asks for 90")  # why not all 108 (issue 18)
    plan = page.get_by_test_id("preflight-phases").locator("tbody tr")
    expect(plan).to_have_count(len(PHASES))
    expect(plan.nth(3)).to_contain_text("8e-06")
    for i, (name, _) in enumerate(PHASES):
        expect(plan.nth(i)).to_contain_text(f"{i + 1}. {name}")
        assert plan.nth(i).locator("td").nth(2).inner_text() == "2"  # capped at max steps per phase
    expect(estimate).to_contain_text("8 (2 + 2 + 2 + 2)")
    chart = page.get_by_test_id("mix-chart")
    expect(chart.locator(".mix-row")).to_have_count(len(CATEGORIES))
    expect(chart.locator("rect.achieved")).to_have_count(len(CATEGORIES))
    expect(chart.locator(".mix-row[data-category=technical] text.val")).to_have_text("13% → 13.3%")
    expect(chart).to_contain_text("90 rows sampled")
    assert not page.get_by_test_id("preflight-errors").count()
    screenshot(page, "unified-form")
    timings["form"] = time.monotonic()

    page.get_by_test_id("launch-submit").click()
    page.wait_for_url(re.compile(r".*/o/rangeworks/training/[0-9a-f-]{36}/$"))
    job_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    # --- the job page follows the phases over the WebSocket: no reload from here to the end -------------------
    seen: list[dict] = []
    page.expose_function("recordPanel", lambda state: seen.append(state))
    page.evaluate(OBSERVE)
    expect(page.get_by_test_id("job-meta")).to_contain_text("range mix")
    page.locator("[data-testid=job-panel][data-status=succeeded]").wait_for(timeout=240_000)
    timings["job"] = time.monotonic()
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    assert page.evaluate("window.wsMessages") > 0, "no update arrived over the WebSocket"

    partial = [s for s in seen if s["stage"] == "running" and s["percent"] is not None and 0 < s["percent"] < 100]
    curve_before_the_end = [s for s in seen if s["curves"] and not all(s["phases"].values())]
    assert partial or curve_before_the_end, f"no intermediate state was seen live: {seen}"
    print(f"\nlive states: {len(seen)} recorded; curriculum running at {sorted({s['percent'] for s in partial})}%;"
          f" curves drawn while phases pending: {[(s['curves'], s['phases']) for s in curve_before_the_end][:3]}")

    states = {stage: page.get_by_test_id(f"stage-{stage}").get_attribute("data-state") for stage in ("compose", "curriculum", "eval")}
    assert states == dict.fromkeys(states, "completed"), states
    assert page.get_by_test_id("job-status").inner_text() == "succeeded"
    job_phases = page.get_by_test_id("phases").locator("tbody tr")
    expect(job_phases).to_have_count(len(PHASES))
    for i, (name, _) in enumerate(PHASES):
        expect(job_phases.nth(i)).to_contain_text(f"{i + 1}. {name}")
        expect(job_phases.nth(i)).not_to_have_class(re.compile(r"\bmuted\b"))
    expect(job_phases.nth(3)).to_contain_text("8e-06")
    for n in range(1, len(PHASES) + 1):
        expect(page.get_by_test_id(f"curves-curriculum-phase-{n}").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("job-mix").locator(".mix-row")).to_have_count(len(CATEGORIES))

    # The behavioral-range table: a column per checkpoint (the base, then one after each phase) and the change.
    table = page.get_by_test_id("range-eval")
    table.wait_for()
    checkpoints = ["base"] + [f"{i}. {name}" for i, (name, _) in enumerate(PHASES, start=1)]
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers == ["", *checkpoints, "Δ"], headers
    overall = page.get_by_test_id("range-overall").locator("td")
    expect(overall).to_have_count(len(checkpoints) + 1)
    screenshot(page, "unified-job-done")

    # What the job stored: the form's composition and curriculum, the 90-row mix, four phases, five checkpoints.
    stored = _json(studio_server, STORED.format(job_id=job_id))
    assert stored["status"] == "succeeded" and stored["kind"] == "unified" and set(stored["stages"].values()) == {"completed"}
    params = stored["params"]
    assert params["dataset_ids"] == [dataset_id]
    assert params["composition"] == {c: float(s) for c, s in SHARES.items()}
    assert [(p["name"], p["learning_rate"]) for p in params["phases"]] == PHASES
    assert {k: str(params[k]) for k in QUICK} == QUICK
    assert stored["mix"]["total"] == 90 and max(stored["mix"]["counts"].values()) <= PER_CATEGORY
    assert [p["name"] for p in stored["phases"]] == [n for n, _ in PHASES] and all(p["steps"] == 2 for p in stored["phases"])
    assert stored["checkpoints"] == checkpoints
    timings["end"] = time.monotonic()
    print("timings (s): dataset {:.1f}, form {:.1f}, job {:.1f}, total {:.1f}".format(
        timings["dataset"] - timings["start"], timings["form"] - timings["dataset"], timings["job"] - timings["form"],
        timings["end"] - timings["start"]))
