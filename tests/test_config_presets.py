"""Presets: named bundles applied as one bulk change."""

import json

import pytest
from django.core.management import call_command

from studio.config import model_names
from studio.config.model_names import catalogue_entry
from studio.config.presets import PRESETS


def test_presets_are_listed_with_their_values(tenant, api_for):
    presets = {p["name"]: p for p in api_for(tenant.org).get("/v1/config/presets").json()["items"]}
    assert set(presets) == {"anthropic", "openai", "google", "budget"}
    assert presets["openai"]["label"] == "OpenAI"
    assert presets["openai"]["values"]["engine.pipeline.soul_draft.model"] == "openai/gpt-5"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_model_a_preset_names_is_in_litellms_catalogue(name):
    for key, value in PRESETS[name].values.items():
        for model in value if isinstance(value, list) else [value] if key.endswith("model") else []:
            assert catalogue_entry(model) is not None, f"{name}: {key} = {model}"


def test_the_server_loads_litellms_catalogue_before_a_request_needs_it(monkeypatch, settings):
    """In services mode nothing else in daphne's process imports litellm: the first preset applied there paid
    the import inside its request (4.2 s here idle, 13.5 s beside five busy processes; a CI browser test gave up)."""
    started = []

    def warm():
        started.append(warm_in_background())
        return started[-1]

    warm_in_background = model_names.warm_in_background
    monkeypatch.setattr(model_names, "warm_in_background", warm)
    monkeypatch.setattr("daphne.cli.CommandLineInterface.run", lambda self, args: None)
    settings.EMBEDDED_MODE = False
    model_names._catalogue.cache_clear()
    call_command("runstudio", "--port", "1")
    assert len(started) == 1
    started[0].join(timeout=120)
    assert model_names._catalogue.cache_info().currsize == 1
    assert catalogue_entry("openai/gpt-5")["mode"] == "chat"


def test_applying_a_preset_is_one_bulk_change(tenant, api_for):
    api = api_for(tenant.org)
    response = api.post("/v1/config/presets/google/apply", json={"reason": "try gemini"})
    assert response.status_code == 200, response.content
    assert api.get("/v1/config/engine.pipeline.audit.model").json()["value"] == "gemini/gemini-2.5-pro"
    assert api.get("/v1/config/engine.pipeline.mask_build.model").json()["value"] == "gemini/gemini-2.5-flash"
    history = api.get("/v1/config/history?action=preset").json()["items"]
    assert len(history) == len(PRESETS["google"].values)
    assert len({e["batch"] for e in history}) == 1
    assert history[0]["reason"] == "try gemini (preset “Google”)"


def test_a_preset_can_target_one_workspace(tenant, api_for):
    api = api_for(tenant.org)
    assert api.post("/v1/config/presets/budget/apply", json={"workspace": "default"}).status_code == 200
    assert api.get("/v1/config/engine.pipeline.fingerprint.scenarios?workspace=default").json()["value"] == 20
    assert api.get("/v1/config/engine.pipeline.fingerprint.scenarios").json()["value"] == 50


def test_an_unknown_preset_is_404(tenant, api_for):
    response = api_for(tenant.org).post("/v1/config/presets/cheapest/apply", json={})
    assert response.status_code == 404 and "cheapest" in response.json()["detail"]


@pytest.fixture
def kept_in(settings, tmp_path):
    """The catalogue kept under a folder of this test's, read afresh (no process-wide copy) before and after."""
    settings.CACHE_DIR = tmp_path / "cache"
    model_names._catalogue.cache_clear()
    yield settings.CACHE_DIR
    model_names._catalogue.cache_clear()


def test_the_catalogue_kept_on_disk_is_litellms_own(kept_in, monkeypatch):
    costs, providers = model_names._catalogue()  # made from litellm, then kept
    [kept] = kept_in.glob("litellm-catalogue-*.json")
    assert kept == model_names.catalogue_cache_path()
    assert (costs, providers) == model_names.catalogue_from_litellm()

    def no_litellm():
        raise AssertionError("the kept catalogue was not read")

    monkeypatch.setattr(model_names, "catalogue_from_litellm", no_litellm)
    model_names._catalogue.cache_clear()
    assert model_names._catalogue() == (costs, providers)
    assert catalogue_entry("openai/gpt-5") == costs["gpt-5"]
    assert model_names.check_model("text-embedding-3-small", "chat") == \
        "'text-embedding-3-small' is a embedding model; this key needs a chat model"


def test_a_file_cut_short_is_made_again(kept_in, caplog):
    path = model_names.catalogue_cache_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"costs": {"gpt-5": ')
    assert model_names._catalogue() == model_names.catalogue_from_litellm()
    assert "is unreadable: it is made again" in caplog.text
    assert set(json.loads(path.read_text())) == {"costs", "providers"}
    assert not list(kept_in.glob("*.partial"))


def test_another_litellm_or_cost_map_is_another_file_and_a_fetched_map_is_not_kept(kept_in, monkeypatch):
    installed = model_names.catalogue_cache_path()
    monkeypatch.setattr(model_names.metadata, "version", lambda name: "0.0.1")
    assert model_names.catalogue_cache_path() not in (None, installed)
    monkeypatch.undo()
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "False")  # litellm fetches its map: nothing to key it by
    assert model_names.catalogue_cache_path() is None
    model_names._catalogue()
    assert not list(kept_in.glob("*"))


def test_a_folder_it_cannot_write_costs_the_cache_not_the_check(kept_in, settings, caplog):
    (kept_in.parent / "a-file").write_text("")
    settings.CACHE_DIR = kept_in.parent / "a-file" / "cache"  # no folder can be made under a file (root or not)
    assert catalogue_entry("openai/gpt-5")["mode"] == "chat"
    assert "could not keep litellm's model catalogue" in caplog.text
