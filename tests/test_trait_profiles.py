"""Trait profiles by revealed preference on a persona, over the API and on the work engine: the runner end to end with
the offline engine (a model that adopts the trait its persona speaks for, a judge that reads style features), a planted
preference recovered, both orders judged, judge failures retried once, resuming, the reaper, bad input and outsiders."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.trait_ratings import trait_ratings
from audits.traits.catalog import TRAITS
from audits.traits.judge import JUDGE_MARKER, OFFLINE_JUDGE_LABEL, offline_judge_reply
from audits.traits.models import TraitJudgment, TraitProfile
from audits.traits.runner import ROUNDS, plan, trait_profile_execute
from audits.traits.work import register as _registers_the_kind  # noqa: F401  (the reaper knows trait profiles)
from personas.models import Persona
from studio.llm.offline import engine as offline_engine
from studio.work.reaper import REGISTRY, reap_kind

EIGHT = ["remorseful", "humorous", "curious", "blunt", "patient", "wry", "warm", "stoic"]


@pytest.fixture
def start(owner_api, django_capture_on_commit_callbacks):
    """start(**payload) → the POST response, the profile run inline to its end."""

    def run(client=None, **payload):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).post("/v1/trait-profiles", json=payload)

    return run


def _remorseful(persona: Persona) -> Persona:
    """The persona's current version rewritten so its layers speak for remorse (its wound, tone and phrases)."""
    version = persona.current_version
    version.soul = {**version.soul, "wound": "I did something I regret every day; it was my fault and I am sorry for it"}
    version.mask = {**version.mask, "tone": "remorseful, quiet, full of regret",
                    "signature_phrases": ["Forgive me, I was wrong.", "I'm sorry, truly.", "I regret it still."]}
    version.save(update_fields=["soul", "mask"])
    return Persona.objects.get(pk=persona.pk)


# --- end to end ----------------------------------------------------------------------------------


def test_a_persona_profile_runs_end_to_end_offline_and_its_ratings_are_the_fit_of_its_judgments(persona, start, owner_api):
    response = start(persona_id=str(persona.public_id), prompts=24, seed=3)

    assert response.status_code == 202, response.content
    body = owner_api.get(f"/v1/trait-profiles/{response.json()['id']}").json()
    assert body["status"] == "completed" and body["progress_done"] == body["progress_total"] == 24
    assert body["judge_label"] == OFFLINE_JUDGE_LABEL and body["judge_model"] == "offline/studio" and body["engine"] == "offline"
    assert body["prompt_set"] == "everyday-first-turns-500" and body["subject_kind"] == "persona" and body["side"] == ""
    assert body["judge_warning"] is None  # a persona has no teacher
    profile = TraitProfile.objects.get(public_id=body["id"])
    judgments = list(profile.judgments.all())
    assert len(judgments) == 24 and sum(body["counts"].values()) == 24
    # independently: the counts and the disagreement rate from the stored judgments
    shown = [(j.first, j.second, j.shown) for j in judgments if j.outcome == "shown"]
    disagreed = sum(j.outcome == "disagreed" for j in judgments)
    assert body["counts"]["shown"] == len(shown) > 0 and body["counts"]["disagreed"] == disagreed
    assert body["order_disagreement"] == {"pairs": len(shown) + disagreed, "disagreed": disagreed,
                                          "rate": pytest.approx(disagreed / (len(shown) + disagreed))}
    assert all(j.forward == j.backward == j.shown for j in judgments if j.outcome == "shown")
    assert all(j.forward != j.backward for j in judgments if j.outcome == "disagreed")
    # the ratings are trait_ratings of the agreed judgments, rank and interval included
    expected = trait_ratings(shown, rounds=ROUNDS, seed=3)
    assert [(r["trait"], r["rank"], r["shown"], r["offered"]) for r in body["ratings"]] == \
        [(r["trait"], r["rank"], r["shown"], r["offered"]) for r in expected]
    assert [r["rating"] for r in body["ratings"]] == pytest.approx([r["rating"] for r in expected])
    assert all(r["low"] <= r["rating"] <= r["high"] for r in body["ratings"])
    # every reply was written to the drawn prompt, with the two drawn traits, without naming either
    for item, judgment in zip(plan(profile), judgments):
        assert (item.first, item.second, item.prompt_index) == (judgment.first, judgment.second, judgment.prompt_index)
        assert judgment.reply and judgment.first not in judgment.reply.lower().split()


def test_the_profile_flags_the_constitutions_traits(persona, start, owner_api):
    from audits.traits.catalog import constitution_traits
    from training_jobs.services import constitution_for_card

    body = owner_api.get(f"/v1/trait-profiles/{start(persona_id=str(persona.public_id), prompts=40).json()['id']}").json()
    expected = constitution_traits(constitution_for_card(persona)["document"])
    assert body["constitution_traits"] == expected and expected and set(expected) <= set(TRAITS)
    assert all(row["constitution"] == (row["trait"] in expected) for row in body["ratings"])


def test_a_planted_preference_is_recovered_through_the_runner(persona, start, owner_api):
    """The offline model adopts the trait its persona speaks for: a persona steeped in regret picks remorseful whenever
    it is offered, the judge reads it back from the reply, and remorseful ranks first with its interval above the rest."""
    _remorseful(persona)
    response = start(persona_id=str(persona.public_id), prompts=240, seed=5, traits=EIGHT)

    body = owner_api.get(f"/v1/trait-profiles/{response.json()['id']}").json()
    assert body["status"] == "completed"
    ratings = body["ratings"]
    assert ratings[0]["trait"] == "remorseful" and ratings[0]["rank"] == 1
    assert ratings[0]["low"] > max(row["high"] for row in ratings[1:])
    assert ratings[0]["shown"] == ratings[0]["offered"] > 30
    assert {row["trait"] for row in ratings} == set(EIGHT)


def test_one_prompt_rates_its_two_traits_or_none(persona, start, owner_api):
    body = owner_api.get(f"/v1/trait-profiles/{start(persona_id=str(persona.public_id), prompts=1).json()['id']}").json()
    assert body["status"] == "completed" and body["progress_total"] == 1 and sum(body["counts"].values()) == 1
    if body["counts"]["shown"]:
        assert len(body["ratings"]) == 2 and body["ratings"][0]["shown"] == 1
        assert body["ratings"][0]["rating"] + body["ratings"][1]["rating"] == pytest.approx(2000)
    else:
        assert body["ratings"] == [] and body["order_disagreement"]["rate"] == 1.0


# --- the judge ------------------------------------------------------------------------------------


@pytest.fixture
def judge(monkeypatch):
    """judge(reply_fn) swaps the offline trait judge for reply_fn(user_text, calls) (calls: times this prompt was asked)."""

    def install(reply):
        calls = {}

        def judged(user_text):
            calls[user_text] = calls.get(user_text, 0) + 1
            return reply(user_text, calls[user_text])

        monkeypatch.setitem(offline_engine._JUDGES, JUDGE_MARKER, (judged, False))
        return calls

    return install


def test_an_unparseable_answer_is_asked_once_more_then_counts_as_a_judge_failure_not_a_win(persona, start, owner_api, judge):
    calls = judge(lambda text, n: offline_judge_reply(text) if n == 2 else "Hmm, hard to say — neither, really.")
    body = owner_api.get(f"/v1/trait-profiles/{start(persona_id=str(persona.public_id), prompts=6).json()['id']}").json()
    assert set(calls.values()) == {2}  # each question asked twice: the first answer named no trait
    assert body["counts"]["judge_failed"] == 0 and body["counts"]["shown"] + body["counts"]["disagreed"] == 6

    judge(lambda text, n: '{"trait": "neither"}')
    body = owner_api.get(f"/v1/trait-profiles/{start(persona_id=str(persona.public_id), prompts=4).json()['id']}").json()
    assert body["status"] == "failed" and body["counts"] == {"shown": 0, "disagreed": 0, "judge_failed": 4, "no_reply": 0}
    assert body["ratings"] == [] and "none of the 4 prompts could be judged" in body["error"] and "neither" in body["error"]
    assert all(j.forward == j.backward == "" and j.shown == "" for j in TraitJudgment.objects.filter(profile__public_id=body["id"]))


def test_a_judge_that_follows_the_position_is_exposed_by_the_two_orders(persona, start, owner_api, judge):
    import json

    judge(lambda text, n: json.dumps({"trait": json.loads(text.split("\n", 1)[1].split("\n\n")[0])["traits"][0]}))
    body = owner_api.get(f"/v1/trait-profiles/{start(persona_id=str(persona.public_id), prompts=5).json()['id']}").json()
    assert body["status"] == "completed" and body["counts"]["disagreed"] == 5 and body["ratings"] == []
    assert body["order_disagreement"] == {"pairs": 5, "disagreed": 5, "rate": 1.0}


def test_the_judge_sees_only_the_reply_and_the_two_traits_at_temperature_0_1(persona, start, owner_api, monkeypatch):
    from audits.traits import runner

    seen = []
    original = runner.abatch

    async def spy(requests, **kwargs):
        seen.extend(requests)
        return await original(requests, **kwargs)

    monkeypatch.setattr(runner, "abatch", spy)
    start(persona_id=str(persona.public_id), prompts=2)
    judged = [(m, c) for m, c in seen if m[-1]["content"].startswith(JUDGE_MARKER)]
    assert len(judged) == 4 and all(c.temperature == 0.1 for _, c in judged)
    assert all(len(m) == 1 and m[0]["role"] == "user" and persona.display_name not in m[0]["content"] for m, _ in judged)


# --- the work engine --------------------------------------------------------------------------------


def test_a_profile_resumes_from_its_saved_judgments_and_ends_as_a_fresh_run_would(persona, start, owner_api, tenant,
                                                                                  django_capture_on_commit_callbacks):
    from studio.principal import Principal

    from audits.traits.services import trait_profile_start

    fresh = owner_api.get(f"/v1/trait-profiles/{start(persona_id=str(persona.public_id), prompts=30, seed=9).json()['id']}").json()
    with django_capture_on_commit_callbacks(execute=False):
        profile = trait_profile_start(principal=Principal.from_membership(tenant.membership("owner")), subject_kind="persona",
                                      subject_id=persona.public_id, prompts=30, seed=9)
    trait_profile_execute(profile.pk)
    kept = TraitJudgment.objects.filter(profile=profile, number__lte=24)
    TraitJudgment.objects.filter(profile=profile, number__gt=24).delete()  # the worker died after its first batch
    TraitProfile.objects.filter(pk=profile.pk).update(status="running", results=None, finished_at=None, progress_done=24,
                                                      heartbeat_at=timezone.now() - timedelta(hours=1))
    assert kept.count() == 24
    trait_profile_execute(profile.pk)
    resumed = owner_api.get(f"/v1/trait-profiles/{profile.public_id}").json()
    assert resumed["status"] == "completed" and resumed["progress_done"] == 30 and TraitJudgment.objects.filter(profile=profile).count() == 30
    assert resumed["ratings"] == fresh["ratings"] and resumed["counts"] == fresh["counts"]


def test_the_reaper_requeues_a_profile_whose_worker_died_then_fails_it_never_leaving_it_running(persona, tenant, settings,
                                                                                               django_capture_on_commit_callbacks):
    from studio.principal import Principal

    from audits.traits.services import trait_profile_start

    with django_capture_on_commit_callbacks(execute=False):
        profile = trait_profile_start(principal=Principal.from_membership(tenant.membership("owner")), subject_kind="persona",
                                      subject_id=persona.public_id, prompts=3)
    stale = timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S + 5)
    TraitProfile.objects.filter(pk=profile.pk).update(status="running", attempt=1, started_at=stale, heartbeat_at=stale)
    with django_capture_on_commit_callbacks(execute=True):
        assert reap_kind(REGISTRY["trait profile"]) == {"resumed": 1, "failed": 0}
    profile.refresh_from_db()
    assert profile.status == "completed" and profile.attempt == 2  # the requeued task ran it to its end

    TraitProfile.objects.filter(pk=profile.pk).update(status="running", attempt=settings.WORK_MAX_ATTEMPTS, heartbeat_at=stale,
                                                      progress_done=1, finished_at=None)
    assert reap_kind(REGISTRY["trait profile"]) == {"resumed": 0, "failed": 1}
    profile.refresh_from_db()
    assert profile.status == "failed" and "after 1 of 3 prompts" in profile.error


# --- input, scopes and outsiders ----------------------------------------------------------------------


@pytest.mark.parametrize("payload, field", [
    ({}, "persona_id"),
    ({"persona_id": "P", "training_job_id": "P", "side": "base"}, "persona_id"),
    ({"persona_id": "P", "prompts": 0}, "prompts"),
    ({"persona_id": "P", "prompts": 501}, "prompts"),
    ({"persona_id": "P", "seed": -1}, "seed"),
    ({"persona_id": "P", "seed": 2**31}, "seed"),
    ({"persona_id": "P", "traits": ["remorseful"]}, "traits"),
    ({"persona_id": "P", "traits": ["remorseful", "sparkly"]}, "traits"),
    ({"persona_id": "P", "side": "base"}, "side"),
    ({"persona_id": "P", "judge_model": "anthropic/claude-opus-4-7"}, "judge_model"),
    ({"persona_id": "P", "judge_model": ""}, "judge_model"),
])
def test_bad_input_is_a_422_naming_the_field(persona, owner_api, payload, field):
    payload = {k: (str(persona.public_id) if v == "P" else v) for k, v in payload.items()}
    response = owner_api.post("/v1/trait-profiles", json=payload)
    assert response.status_code == 422, response.content
    assert field in str(response.json()["detail"])
    assert not TraitProfile.objects.exists()


@pytest.mark.parametrize("payload, field", [({"prompts": "ten"}, "prompts"), ({"prompts": True}, "prompts"),
                                            ({"side": "middle"}, "side"), ({"seed": 1.5}, "seed")])
def test_wrong_types_are_422_naming_the_field(persona, owner_api, payload, field):
    response = owner_api.post("/v1/trait-profiles", json={"persona_id": str(persona.public_id), **payload})
    assert response.status_code == 422 and field in str(response.json()["detail"])


def test_a_job_needs_a_side_and_a_profile_to_compare_must_have_completed(persona, owner_api, start, tenant):
    response = owner_api.post("/v1/trait-profiles", json={"training_job_id": str(persona.public_id)})
    assert response.status_code == 422 and "side" in str(response.json()["detail"])
    done = start(persona_id=str(persona.public_id), prompts=6).json()["id"]
    TraitProfile.objects.filter(public_id=done).update(status="running")
    other = start(persona_id=str(persona.public_id), prompts=6).json()["id"]
    response = owner_api.get(f"/v1/trait-profiles/{other}?compare_to={done}")
    assert response.status_code == 409 and "compare_to" in str(response.json()["detail"])


def test_scopes_are_enforced(persona, api_for, tenant):
    reader = api_for(tenant.org, scopes=["personas:read"])
    response = reader.post("/v1/trait-profiles", json={"persona_id": str(persona.public_id)})
    assert response.status_code == 403
    assert reader.get(f"/v1/personas/{persona.public_id}/trait-profiles").status_code == 200


def test_outsiders_get_404_on_every_trait_profile_route(persona, start, outsider_tenant, api_for, client_for, outsider, owner_api):
    profile_id = start(persona_id=str(persona.public_id), prompts=4).json()["id"]
    mine = TraitProfile.objects.get(public_id=profile_id)
    stranger = api_for(outsider_tenant.org)
    assert stranger.post("/v1/trait-profiles", json={"persona_id": str(persona.public_id)}).status_code == 404
    assert stranger.get(f"/v1/trait-profiles/{profile_id}").status_code == 404
    assert stranger.get(f"/v1/personas/{persona.public_id}/trait-profiles").status_code == 404
    # their own profile compared with ours: still 404, and nothing of ours leaks
    assert owner_api.get(f"/v1/trait-profiles/{profile_id}?compare_to={profile_id}").status_code == 200
    browser = client_for(outsider)
    for url in (f"/o/acme/trait-profiles/{profile_id}/", f"/o/acme/trait-profiles/{profile_id}/panel/",
                f"/o/acme/personas/{persona.public_id}/trait-profile/", f"/o/globex/trait-profiles/{profile_id}/",
                f"/o/globex/personas/{persona.public_id}/trait-profile/"):
        assert browser.get(url).status_code == 404, url
        assert browser.post(url).status_code in (404, 405), url
    assert TraitProfile.objects.count() == 1 and mine.status == "completed"


def test_a_viewer_sees_a_profile_but_cannot_start_one(persona, tenant, client_for, start):
    viewer = client_for(tenant.user("viewer"))
    page = viewer.get(f"/o/acme/personas/{persona.public_id}/trait-profile/")
    assert page.status_code == 200 and b'data-testid="trait-profile-none"' in page.content and b"trait-profile-form" not in page.content
    assert viewer.post(f"/o/acme/personas/{persona.public_id}/trait-profile/", {"prompts": "2"}).status_code == 403
    profile_id = start(persona_id=str(persona.public_id), prompts=2).json()["id"]
    html = viewer.get(f"/o/acme/trait-profiles/{profile_id}/").content.decode()
    assert 'data-testid="trait-profile-panel"' in html and "trait-profile-again" not in html
    assert not TraitProfile.objects.filter(created_by=tenant.user("viewer")).exists()


def test_the_list_shows_a_personas_profiles_newest_first(persona, start, owner_api):
    first = start(persona_id=str(persona.public_id), prompts=2).json()["id"]
    second = start(persona_id=str(persona.public_id), prompts=2, seed=1).json()["id"]
    body = owner_api.get(f"/v1/personas/{persona.public_id}/trait-profiles").json()
    items = body["items"] if isinstance(body, dict) else body
    assert [row["id"] for row in items] == [second, first]


# --- pages ----------------------------------------------------------------------------------------------


def test_the_persona_page_leads_to_its_trait_profile_page_which_shows_the_api_numbers(persona, tenant, client_for, start, owner_api):
    browser = client_for(tenant.owner)
    page = browser.get(f"/o/acme/personas/{persona.public_id}/")
    assert f"/o/acme/personas/{persona.public_id}/trait-profile/" in page.content.decode()
    empty = browser.get(f"/o/acme/personas/{persona.public_id}/trait-profile/")
    assert empty.status_code == 200 and b'data-testid="trait-profile-form"' in empty.content
    bad = browser.post(f"/o/acme/personas/{persona.public_id}/trait-profile/", {"prompts": "900"})
    assert bad.status_code == 422 and b"prompts must be a whole number from 1 to 500" in bad.content

    profile_id = start(persona_id=str(persona.public_id), prompts=40).json()["id"]
    assert browser.get(f"/o/acme/personas/{persona.public_id}/trait-profile/")["Location"].endswith(f"/trait-profiles/{profile_id}/")
    html = browser.get(f"/o/acme/trait-profiles/{profile_id}/").content.decode()
    body = owner_api.get(f"/v1/trait-profiles/{profile_id}").json()
    assert OFFLINE_JUDGE_LABEL in html and 'data-testid="offline-judge-note"' in html
    for row in body["ratings"][:20]:
        assert f'data-trait="{row["trait"]}" data-rating="{row["rating"]:.1f}"' in html
        assert f'{row["low"]:.0f}–{row["high"]:.0f}' in html
    assert html.count('data-testid="trait-bar"') == min(20, len(body["ratings"]))
    assert "hx-trigger" not in html and 'data-testid="trait-profile-again"' in html  # finished: no polling; can go again
    mean = sum(r["offered"] for r in body["ratings"]) / len(body["ratings"])
    assert f"drawn {mean:.1f} times on average" in html
