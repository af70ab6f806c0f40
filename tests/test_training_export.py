"""Take the trained model away: the merged model (its logits are base + adapter's) and the adapter as zips with a model
card, over the API, from the job page and with `manage.py export_model`; bad format, missing adapters, outsiders."""

import io
import json
import shutil
import zipfile

import pytest
from django.core.management import CommandError, call_command

from tests.tuned_model_helpers import EVAL, PAIRS, trained_job
from tests.tuned_model_helpers import artifacts_in_tmp_fixture, job_fixture, tiny_checkpoint_fixture  # noqa: F401  (fixtures)
from training_jobs.constitution import markers
from training_jobs.models import JobStatus, StageRun
from training_jobs.outcome import percent_text
from training_jobs.engine import read_jsonl


def api_url(job, export_format=None) -> str:
    return f"/v1/training-jobs/{job.public_id}/model" + (f"?format={export_format}" if export_format else "")


def named(job, export_format) -> str:
    """The archive's folder: the job's name with spaces as dashes, then the format."""
    return job.name.replace(" ", "-") + f"-{export_format}"


def unzip(response_or_path, into) -> zipfile.ZipFile:
    data = b"".join(response_or_path.streaming_content) if hasattr(response_or_path, "streaming_content") else None
    archive = zipfile.ZipFile(io.BytesIO(data) if data is not None else response_or_path)
    archive.extractall(into)
    return archive


def logits(model, tokenizer, text="Tell me about the sea?"):
    import torch

    ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)
    with torch.no_grad():
        return model(**ids).logits


# --- the merged model ----------------------------------------------------------------------------


def test_the_merged_model_loads_with_plain_transformers_and_gives_base_plus_adapter_s_logits(job, owner_api, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    response = owner_api.get(api_url(job, "merged"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{named(job, "merged")}.zip"'
    archive = unzip(response, tmp_path)
    folder = tmp_path / named(job, "merged")
    names = {n.removeprefix(f"{named(job, 'merged')}/") for n in archive.namelist()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "persona_studio.json"} <= names
    assert not any(n.startswith("adapter_") for n in names)  # merged: no PEFT files
    assert archive.getinfo(f"{named(job, 'merged')}/model.safetensors").compress_type == zipfile.ZIP_STORED

    root = job.artifacts_dir / "dpo_train"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    merged = logits(AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer)
    tuned = logits(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(root / "base"), root / "adapter").eval(), tokenizer)
    base = logits(AutoModelForCausalLM.from_pretrained(root / "base").eval(), tokenizer)
    assert (merged - tuned).abs().max().item() < 1e-4
    assert (tuned - base).abs().max().item() > 1e-2  # the adapter moved the logits: the check above could fail
    assert json.loads((folder / "persona_studio.json").read_text()) == {
        "job_id": str(job.public_id), "job_name": job.name, "format": "merged", "checkpoint": "dpo_train", "outcome": None,
        "constitution_version": job.constitution.number}


def test_the_adapter_zip_holds_the_adapter_folder_as_trained_with_the_card(job, owner_api, tmp_path):
    response = owner_api.get(api_url(job, "adapter"))
    assert response.status_code == 200
    unzip(response, tmp_path)
    folder, adapter = tmp_path / named(job, "adapter"), job.artifacts_dir / "dpo_train/adapter"
    trained = {p.name for p in adapter.iterdir()} - {"README.md"}
    assert trained | {"README.md", "persona_studio.json"} == {p.name for p in folder.iterdir()}
    for name in trained:
        assert (folder / name).read_bytes() == (adapter / name).read_bytes()
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nbase_model: tiny\nlibrary_name: peft\n") and "AutoPeftModelForCausalLM" in card


# --- the model card ------------------------------------------------------------------------------


def test_the_card_holds_the_constitution_data_sizes_evaluation_and_outcome_of_a_real_job(persona, launch, owner_api, tmp_path):
    job = launch(persona)  # smoke off: DPO data, DPO, introspection, SFT and the evaluation on the tiny model
    assert job.status == JobStatus.SUCCEEDED, job.error
    unzip(owner_api.get(api_url(job, "adapter")), tmp_path)
    card = (tmp_path / named(job, "adapter") / "README.md").read_text()
    stages = {s.stage: s for s in job.stages.all()}

    def rows(stage, key):
        return len(read_jsonl(job.artifacts_dir / stages[stage].artifacts[key]))
    assert f"| DPO pairs | {rows('dpo_data', 'pairs')} |" in card
    assert f"| Reflections | {rows('introspection', 'reflections')} |" in card
    assert f"| Self-interactions | {rows('introspection', 'interactions')} |" in card
    assert f"| SFT examples | {rows('introspection', 'sft_examples')} |" in card
    assert "Open Character Training recipe (DPO + SFT" in card and "\n- sft\n" in card  # the SFT adapter is the one exported

    summary = stages["eval"].stats["eval"]
    marker_rates, wins = summary["marker_frequency"], summary["wins"]
    assert f"| Replies with a character marker | {percent_text(marker_rates['base'])} | {percent_text(marker_rates['tuned'])} |" in card
    assert f"| Judge wins | {wins['base']} | {wins['tuned']} |" in card
    assert f"{summary['prompts']} held-out prompts × {summary['samples_per_prompt']} samples" in card
    detail = job.outcome_detail
    assert f"## Outcome: {detail['label']}\n\n{detail['reason'][:1].upper() + detail['reason'][1:]}" in card
    if detail.get("marker_difference"):
        assert "| Marker rate, tuned − base |" in card

    document = job.constitution.constitution
    assert f"## Constitution v{job.constitution.number} (derived)" in card
    for n, trait in enumerate(document.traits, start=1):
        assert f"{n}. {trait.statement}" in card
    assert all(f"“{m}”" in card for m in markers(document))
    assert f"| DPO steps | {stages['dpo_train'].stats['dpo']['steps']}, final loss" in card


def test_a_dpo_only_checkpoint_says_its_introspection_data_was_not_used_and_shows_the_outcome_figures(job, owner_api, tmp_path):
    job.outcome = "improved"
    job.outcome_detail = {"outcome": "improved", "label": "Improved", "reason": "the marker rate rose", "level": 0.95,
                          "marker_difference": {"difference": 0.625, "interval": [0.3, 0.8], "signal": "good", "tuned": 0.75,
                                                "base": 0.125, "pairs": 24}}
    job.save(update_fields=["outcome", "outcome_detail"])
    unzip(owner_api.get(api_url(job, "merged")), tmp_path)
    card = (tmp_path / named(job, "merged") / "README.md").read_text()
    assert f"| DPO pairs | {len(PAIRS[:5])} |" in card and "| Introspection | — | not used: the exported checkpoint is the DPO adapter |" in card
    assert "## Outcome: Improved\n\nThe marker rate rose" in card
    # as the job page prints them (training_jobs.display.outcome_view)
    assert "| Marker rate, tuned − base | +62 pp | [+30 pp, +80 pp] | 75% vs 12% of 24 reply pairs; no change = 0 |" in card
    assert f"| Judge wins | {EVAL['wins']['base']} | {EVAL['wins']['tuned']} |" in card and "Ties: 2." in card
    assert card.startswith("---\nbase_model: tiny\nlibrary_name: transformers\n")


# --- refusals ------------------------------------------------------------------------------------


def test_an_unknown_format_is_a_422_naming_format(job, owner_api):
    response = owner_api.get(api_url(job, "gguf"))
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["format"], "msg": "format must be one of merged, adapter (got 'gguf')"}]


def test_no_adapter_yet_or_a_deleted_one_is_a_409(job, persona, owner_api):
    queued = trained_job(persona, None, status=JobStatus.QUEUED, name="queued")
    response = owner_api.get(api_url(queued, "adapter"))
    assert response.status_code == 409 and "no trained adapter yet" in response.json()["detail"]
    shutil.rmtree(job.artifacts_dir / "dpo_train/base")
    response = owner_api.get(api_url(job, "merged"))
    assert response.status_code == 409 and "the base model of this job's dpo_train stage (dpo_train/base) was deleted" in response.json()["detail"]


def test_a_viewer_downloads_and_an_outsider_gets_404(job, tenant, client_for, api_for, outsider, outsider_tenant):
    viewer = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/model/?format=adapter")
    assert viewer.status_code == 200 and viewer["Content-Disposition"].endswith('-adapter.zip"')
    assert client_for(outsider).get(f"/o/acme/training/{job.public_id}/model/?format=adapter").status_code == 404
    assert api_for(outsider_tenant.org).get(api_url(job, "adapter")).status_code == 404
    assert api_for(tenant.org, scopes=["personas:read"]).get(api_url(job, "adapter")).status_code == 403


def test_the_page_download_refuses_an_unknown_format_and_a_missing_adapter(job, persona, tenant, client_for):
    client = client_for(tenant.owner)
    response = client.get(f"/o/acme/training/{job.public_id}/model/?format=onnx")
    assert response.status_code == 422 and "format must be one of merged, adapter" in response.content.decode()
    queued = trained_job(persona, None, status=JobStatus.QUEUED, name="queued")
    assert client.get(f"/o/acme/training/{queued.public_id}/model/").status_code == 409


# --- manage.py export_model ----------------------------------------------------------------------


def test_the_command_writes_the_zip_where_asked(job, tmp_path):
    out = tmp_path / "exports" / "model.zip"
    out.parent.mkdir()
    stdout = io.StringIO()
    call_command("export_model", str(job.public_id), "--format", "adapter", "--out", str(out), stdout=stdout)
    assert f"adapter model of {job.name} written to {out}" in stdout.getvalue()
    names = zipfile.ZipFile(out).namelist()
    assert f"{named(job, 'adapter')}/adapter_config.json" in names and f"{named(job, 'adapter')}/README.md" in names
    assert [p.name for p in out.parent.iterdir()] == ["model.zip"]  # no partial file left behind


def test_the_command_refuses_bad_arguments_and_leaves_nothing_behind(job, persona, tmp_path):
    queued = trained_job(persona, None, status=JobStatus.QUEUED, name="queued")
    cases = [
        ((str(job.public_id), "--format", "gguf"), "format must be one of merged, adapter (got 'gguf')"),
        (("not-a-uuid",), "no training job 'not-a-uuid': give its public id (a UUID)"),
        (("00000000-0000-0000-0000-000000000000",), "no training job 00000000-0000-0000-0000-000000000000"),
        ((str(queued.public_id),), "this job has no trained adapter yet (it is queued): one comes with DPO training"),
        ((str(job.public_id), "--out", str(tmp_path / "missing" / "m.zip")), f"--out: folder {tmp_path / 'missing'} does not exist"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError) as error:
            call_command("export_model", *args, "--out", str(tmp_path / "m.zip")) if "--out" not in args else call_command("export_model", *args)
        assert str(error.value) == message
    assert list(tmp_path.glob("*m.zip*")) == []
    assert StageRun.objects.filter(job=queued).count() == 1
