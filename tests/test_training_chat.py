"""Chat with a job's trained model: base + adapter with no constitution in the prompt, beside the base model, each
reply drift-scored; multi-turn, stored, over the API and on its page; scopes, outsiders, bad input and missing adapters.

Replies are checked against the backend sampling the same checkpoint directly (same seed, same conversation)."""

import shutil

import numpy as np
import pytest

from audits.models import Fingerprint
from studio.llm.engines import OFFLINE_MODEL
from studio.llm import gateway
from studio.safety.models import Lockout
from tests.tuned_model_helpers import trained_job
from tests.tuned_model_helpers import artifacts_in_tmp_fixture, job_fixture, tiny_checkpoint_fixture  # noqa: F401  (fixtures)
from training_jobs.backends.trl_backend import TRLBackend
from training_jobs.models import JobStatus, TunedChat, TunedChatTurn
from training_jobs.tuned_chat import CHAT_MAX_NEW_TOKENS, fit_to_context
from training_jobs.unified import UNIFIED_KIND


def url(job) -> str:
    return f"/v1/training-jobs/{job.public_id}/chat"


def expected(job, conversation, *, adapter=True, turn=0) -> str:
    """What the checkpoint says when sampled directly: the conversation only (no system prompt), the job's sampling and
    the evaluation's repetition penalty."""
    root, p = job.artifacts_dir / "dpo_train", job.params
    text = TRLBackend().sample([conversation], {"student": str(root / "base"), "seed": p["seed"] + turn},
                               adapter_dir=str(root / "adapter") if adapter else None, base_dir=str(root / "base"),
                               max_new_tokens=CHAT_MAX_NEW_TOKENS, temperature=p["temperature"], top_p=p["top_p"],
                               repetition_penalty=1.15)[0]  # the evaluation's penalty
    return text.replace("\x00", "").strip()


def detail_fields(response) -> list[str]:
    return [entry["loc"][-1] for entry in response.json()["detail"]]


# --- the API -------------------------------------------------------------------------------------


def test_the_tuned_model_answers_without_a_system_prompt_and_the_base_model_beside_it(job, owner_api):
    response = owner_api.post(url(job), json={"message": "Tell me about the sea?", "compare_base": True})

    assert response.status_code == 200, response.content
    body = response.json()
    user = {"role": "user", "content": "Tell me about the sea?"}
    assert body["tuned"]["text"] == expected(job, [user]) and body["tuned"]["model"] == "tuned (DPO)"
    assert body["base"]["text"] == expected(job, [user], adapter=False) and body["base"]["model"] == "base (tiny)"
    assert body["tuned"]["text"] and body["tuned"]["text"] != body["base"]["text"], body  # the adapter changed what it says
    assert body["checkpoint"] == "dpo_train" and body["message"] == "Tell me about the sea?"
    assert body["tuned"]["drift"] is None and body["drift_note"] == "fingerprint not ready"
    turn = TunedChatTurn.objects.get()
    assert (turn.reply, turn.base_reply, str(turn.chat.public_id)) == (body["tuned"]["text"], body["base"]["text"], body["session_id"])


def test_the_conversation_goes_on_with_each_model_seeing_its_own_replies(job, owner_api):
    first = owner_api.post(url(job), json={"message": "Tell me about the sea?", "compare_base": True}).json()
    second = owner_api.post(url(job), json={"message": "And the tide?", "compare_base": True, "session_id": first["session_id"]}).json()

    assert second["session_id"] == first["session_id"] and TunedChat.objects.count() == 1
    def conversation(side):
        return [{"role": "user", "content": "Tell me about the sea?"}, {"role": "assistant", "content": first[side]["text"]},
                {"role": "user", "content": "And the tide?"}]
    assert second["tuned"]["text"] == expected(job, conversation("tuned"), turn=1)
    assert second["base"]["text"] == expected(job, conversation("base"), adapter=False, turn=1)
    assert second["note"] is None  # it fit the model's context
    without_base = owner_api.post(url(job), json={"message": "Goodbye.", "session_id": first["session_id"]}).json()
    assert without_base["base"] is None and TunedChatTurn.objects.last().base_reply is None


def test_each_reply_is_drift_scored_against_the_persona_fingerprint(job, persona, owner_api):
    vector, _ = gateway.embed(["The tide keeps its own counsel, and so do I."], OFFLINE_MODEL, organization=persona.organization)
    Fingerprint.objects.create(organization=persona.organization, persona=persona, version=persona.current_version,
                               status="ready", vector=vector[0], embedding_model=OFFLINE_MODEL, engine="offline", scenarios=50)

    body = owner_api.post(url(job), json={"message": "Tell me about the sea?", "compare_base": True}).json()

    reference = np.array(vector[0])
    for side in ("tuned", "base"):
        (embedded,), _ = gateway.embed([body[side]["text"]], OFFLINE_MODEL, organization=persona.organization)
        distance = 1 - np.dot(embedded, reference) / (np.linalg.norm(embedded) * np.linalg.norm(reference))
        drift = body[side]["drift"]
        assert drift["score"] == pytest.approx(distance, abs=1e-4) and drift["threshold"] == 0.3
        assert drift["flagged"] == body[side]["flagged"] == (distance > 0.3)
    turn = TunedChatTurn.objects.get()
    assert turn.reply_drift == body["tuned"]["drift"]["score"] and turn.base_drift == body["base"]["drift"]["score"]


def test_a_reviewer_chats_but_a_viewer_reads_only_and_an_outsider_sees_nothing(job, tenant, api_for, outsider_tenant):
    from tests.conftest import SessionApi

    assert SessionApi(tenant.user("reviewer")).post(url(job), json={"message": "Hello?"}).status_code == 200
    viewer = SessionApi(tenant.user("viewer")).post(url(job), json={"message": "Hello?"})
    assert viewer.status_code == 403 and "personas:write" in viewer.json()["detail"]
    assert api_for(tenant.org, scopes=["training:read"]).post(url(job), json={"message": "Hello?"}).status_code == 403
    assert api_for(tenant.org, scopes=["personas:write"]).post(url(job), json={"message": "Hello?"}).status_code == 403  # no training:read
    outsider = api_for(outsider_tenant.org).post(url(job), json={"message": "Hello?"})
    assert outsider.status_code == 404 and outsider.json()["detail"] == "training job not found"
    assert TunedChatTurn.objects.count() == 1


def test_someone_else_s_chat_session_is_not_found(job, owner_api, tenant):
    from tests.conftest import SessionApi

    session = owner_api.post(url(job), json={"message": "Hello?"}).json()["session_id"]
    editor = SessionApi(tenant.user("editor")).post(url(job), json={"message": "Hello?", "session_id": session})
    assert editor.status_code == 404 and editor.json()["detail"] == "chat session not found"


@pytest.mark.parametrize("body, field", [
    ({"message": ""}, "message"), ({"message": "   "}, "message"), ({"message": "x" * 8001}, "message"), ({}, "message"),
    ({"message": "Hi\x00"}, "message"), ({"message": "Hi \ud800"}, "message"),
    ({"message": "Hi", "compare_base": "maybe"}, "compare_base"), ({"message": "Hi", "session_id": "nope"}, "session_id"),
])
def test_bad_input_is_a_422_naming_the_field(job, owner_api, body, field):
    response = owner_api.post(url(job), json=body)
    assert response.status_code == 422 and field in detail_fields(response)
    assert not TunedChatTurn.objects.exists()


def test_a_session_of_another_job_is_a_422_naming_session_id(job, persona, tiny_checkpoint, owner_api):
    other = trained_job(persona, tiny_checkpoint, name="other-job")
    session = owner_api.post(url(other), json={"message": "Hello?"}).json()["session_id"]
    response = owner_api.post(url(job), json={"message": "Hello?", "session_id": session})
    assert response.status_code == 422 and detail_fields(response) == ["session_id"]


def test_a_job_with_no_adapter_yet_is_a_409(persona, owner_api):
    job = trained_job(persona, None, status=JobStatus.DPO_TRAIN)
    response = owner_api.post(url(job), json={"message": "Hello?"})
    assert response.status_code == 409
    assert response.json()["detail"] == "this job has no trained adapter yet (it is dpo_train): one comes with DPO training"


def test_a_job_whose_adapter_folder_was_deleted_is_a_409_that_says_so(job, owner_api):
    shutil.rmtree(job.artifacts_dir / "dpo_train/adapter")
    response = owner_api.post(url(job), json={"message": "Hello?"})
    assert response.status_code == 409
    assert response.json()["detail"] == ("the adapter of this job's dpo_train stage (dpo_train/adapter) was deleted from its "
                                         "artifacts: resume the job from dpo_train to train it again")
    assert not TunedChatTurn.objects.exists()


def test_a_unified_job_is_a_409(job, owner_api):
    job.kind = UNIFIED_KIND
    job.save(update_fields=["kind"])
    response = owner_api.post(url(job), json={"message": "Hello?"})
    assert response.status_code == 409 and "unified job" in response.json()["detail"]


def test_the_safe_word_locks_the_speaker_out_and_reaches_no_model(job, owner_api, monkeypatch):
    monkeypatch.setattr(TRLBackend, "sample", lambda *a, **k: pytest.fail("the safe word reached a model"))
    response = owner_api.post(url(job), json={"message": "Red!"})
    assert response.status_code == 423
    lockout = Lockout.objects.get()
    assert response.json()["lockout"]["chat_session_id"] == str(lockout.chat_session_id) == str(TunedChat.objects.get().public_id)
    assert lockout.api_key is not None and lockout.user is None and not TunedChatTurn.objects.exists()  # owner_api is a key
    assert owner_api.post(url(job), json={"message": "Hello?"}).status_code == 423  # the floor holds


def test_the_safe_word_comes_before_a_missing_adapter(persona, owner_api):
    job = trained_job(persona, None, status=JobStatus.QUEUED)
    assert owner_api.post(url(job), json={"message": "red"}).status_code == 423 and Lockout.objects.count() == 1


# --- fitting the model's context -----------------------------------------------------------------


def test_the_oldest_turns_go_first_and_a_long_message_is_cut_from_the_left(tiny_checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint["adapter"])
    def size(messages):
        return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False))
    history = [{"role": "user", "content": "Tell me about the sea?"}, {"role": "assistant", "content": "The tide keeps its counsel."}] * 3
    message = {"role": "user", "content": "And the tide?"}
    budget = size(history[2:] + [message])  # room for two earlier turns and the message

    kept, note = fit_to_context(history + [message], tokenizer, budget)
    assert kept == history[2:] + [message] and note == "1 earlier turn left out to fit the model's context"

    long = {"role": "user", "content": "word " * 300 + "THE END"}
    kept, note = fit_to_context(history + [long], tokenizer, 60)
    assert len(kept) == 1 and kept[0]["content"].endswith("THE END") and size(kept) <= 60
    assert note.startswith("3 earlier turns left out to fit the model's context; the message was cut from the left by ")


# --- the pages -----------------------------------------------------------------------------------


def page_url(job, tail="") -> str:
    return f"/o/acme/training/{job.public_id}/chat/{tail}"


def test_the_job_page_offers_the_chat_and_both_downloads_once_an_adapter_exists(job, persona, tenant, client_for):
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert f'href="{page_url(job)}" data-testid="chat-with-model">Chat with the tuned model</a>' in page
    assert f"/o/acme/training/{job.public_id}/model/?format=merged" in page and "?format=adapter" in page
    untrained = trained_job(persona, None, status=JobStatus.FAILED, name="untrained")
    page = client_for(tenant.owner).get(f"/o/acme/training/{untrained.public_id}/").content.decode()
    assert "Chat with the tuned model" not in page and "?format=merged" not in page


def test_the_chat_page_sends_with_htmx_shows_both_replies_and_a_reload_shows_the_conversation(job, tenant, client_for):
    client = client_for(tenant.owner)
    page = client.get(page_url(job)).content.decode()
    assert 'hx-post="' + page_url(job, "send/") + '"' in page and 'data-testid="compare-base"' in page
    assert 'hx-indicator="#chat-thinking"' in page and "data-enter-sends" in page  # Enter sends: static/studio/pages.js
    assert "No constitution or system prompt is sent" in page

    response = client.post(page_url(job, "send/"), {"message": "Tell me about the sea?", "compare_base": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    turn = TunedChatTurn.objects.get()
    fragment = response.content.decode()
    assert 'class="bubble user">Tell me about the sea?</div>' in fragment
    assert 'data-testid="reply-tuned"' in fragment and 'data-testid="reply-base"' in fragment and "tuned-replies compare" in fragment
    assert f'value="{turn.chat.public_id}" hx-swap-oob="true"' in fragment
    assert response["HX-Push-Url"] == page_url(job) + f"?session={turn.chat.public_id}"

    reloaded = client.get(page_url(job)).content.decode()  # the latest chat, as it was
    assert reloaded.count('data-testid="chat-turn"') == 1 and 'class="bubble user">Tell me about the sea?</div>' in reloaded
    assert 'data-testid="reply-base"' in reloaded and f'value="{turn.chat.public_id}"' in reloaded
    fresh = client.get(page_url(job) + "?new=1").content.decode()
    assert 'data-testid="chat-turn"' not in fresh and 'name="session_id" value=""' in fresh


def test_a_viewer_reads_the_chat_page_but_cannot_send_and_an_outsider_gets_404(job, tenant, client_for, outsider):
    viewer = client_for(tenant.user("viewer"))
    page = viewer.get(page_url(job)).content.decode()
    assert 'data-testid="chat-read-only"' in page and "chat-message" not in page
    assert viewer.post(page_url(job, "send/"), {"message": "Hello?"}).status_code == 403
    stranger = client_for(outsider)
    assert stranger.get(page_url(job)).status_code == 404
    assert stranger.post(page_url(job, "send/"), {"message": "Hello?"}).status_code == 404
    assert not TunedChatTurn.objects.exists()


def test_the_page_says_why_when_the_adapter_is_gone_and_sending_is_a_409(job, tenant, client_for):
    shutil.rmtree(job.artifacts_dir / "dpo_train/adapter")
    client = client_for(tenant.owner)
    page = client.get(page_url(job)).content.decode()
    assert 'data-testid="chat-problem">The adapter of this job&#x27;s dpo_train stage (dpo_train/adapter) was deleted' in page
    assert "chat-message" not in page
    response = client.post(page_url(job, "send/"), {"message": "Hello?"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and 'data-testid="chat-error"' in response.content.decode()


def test_an_empty_message_on_the_page_is_a_422_shown_in_the_log(job, tenant, client_for):
    response = client_for(tenant.owner).post(page_url(job, "send/"), {"message": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "message must not be empty" in response.content.decode()
