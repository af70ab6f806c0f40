"""Drift: each reply is embedded with the fingerprint's own model and scored as cosine distance to it."""

import math

import pytest

from audits.drift import cosine_distance, drift_chart
from audits.chat.models import ChatMessage
from audits.models import Fingerprint
from personas.models import Persona
from studio.llm.offline.engine import offline_embedding
from studio.config.services import config_set
from studio.principal import Principal
from tests.generation_helpers import use_test_server
from tests.llm_server import Reply

EMBEDDING_MODEL = "openai/text-embedding-test"
REPLY = "The tide keeps its own counsel, and so do I."


@pytest.fixture
def persona(generate):
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def online(persona, tenant, llm_server):
    """acme's chat through the test server, which answers REPLY."""
    use_test_server(tenant, llm_server, steps=["mask_build"], fallbacks=[])
    llm_server.script(*[Reply(REPLY)] * 5, model="gpt-test")
    return llm_server


def fingerprint(persona, vector, *, model=EMBEDDING_MODEL, engine="providers", status="ready"):
    return Fingerprint.objects.create(
        organization=persona.organization, persona=persona, version=persona.current_version, status=status,
        vector=vector, embedding_model=model, engine=engine, scenarios=50,
    )


def blend(vector, away: float) -> list[float]:
    """A unit vector at cosine distance `away` (< 1) from `vector`, turned towards an orthogonal one."""
    norm = math.sqrt(sum(v * v for v in vector))
    unit = [v / norm for v in vector]
    other = [1.0] + [0.0] * (len(unit) - 1)
    dot = sum(a * b for a, b in zip(other, unit))
    ortho = [o - dot * u for o, u in zip(other, unit)]
    onorm = math.sqrt(sum(o * o for o in ortho))
    cos = 1 - away
    return [cos * u + math.sqrt(1 - cos * cos) * o / onorm for u, o in zip(unit, ortho)]


def set_config(tenant, key, value):
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key=key, value=value)


def chat(client, persona, message="How are you?"):
    return client.post(f"/v1/personas/{persona.public_id}/chat", json={"message": message})


def test_cosine_distance_is_zero_for_the_same_direction_and_two_for_the_opposite():
    assert cosine_distance([1, 2, 3], [2, 4, 6]) == pytest.approx(0)
    assert cosine_distance([1, 0], [0, 1]) == pytest.approx(1)
    assert cosine_distance([1, 0], [-1, 0]) == pytest.approx(2)
    with pytest.raises(ValueError, match="dimensions"):
        cosine_distance([1, 0, 0], [1, 0])


def test_the_drift_chart_puts_higher_drift_higher_and_draws_the_threshold():
    chart = drift_chart([0.1, 0.5], 0.3)
    (_, low_y, _, low_over), (_, high_y, _, high_over) = chart.points
    assert high_y < chart.threshold_y < low_y and chart.polyline.count(",") == 2
    assert (low_over, high_over) == (False, True)


def test_a_reply_close_to_the_fingerprint_is_scored_with_the_fingerprints_embedding_model(persona, online, owner_api):
    fingerprint(persona, blend(online.vector(REPLY), 0.1))
    body = chat(owner_api, persona).json()
    assert body["drift"] == {"score": pytest.approx(0.1, abs=1e-3), "threshold": 0.3, "threshold_source": "configured",
                             "threshold_label": "the configured threshold", "action": "warn", "flagged": False}
    embedded = [r for r in online.requests if r.path.endswith("/embeddings")]
    assert [(r.model, r.body["input"]) for r in embedded] == [("text-embedding-test", [REPLY])]
    assert ChatMessage.objects.get(role="assistant").drift_score == pytest.approx(0.1, abs=1e-3)


def test_the_newest_ready_fingerprint_is_the_reference(persona, online, owner_api):
    fingerprint(persona, blend(online.vector(REPLY), 0.5))
    fingerprint(persona, blend(online.vector(REPLY), 0.05))
    fingerprint(persona, [0.0] * 8, status="running")
    assert chat(owner_api, persona).json()["drift"]["score"] == pytest.approx(0.05, abs=1e-3)


def test_a_drifting_reply_is_shown_and_flagged_when_the_action_is_warn(persona, online, owner_api):
    fingerprint(persona, blend(online.vector(REPLY), 0.6))
    response = chat(owner_api, persona)
    assert response.status_code == 200
    assert response.json()["reply"] == REPLY and response.json()["drift"]["flagged"] is True
    assert ChatMessage.objects.get(role="assistant").flagged


def test_a_drifting_reply_is_withheld_with_409_when_the_action_is_block(persona, online, owner_api, tenant):
    set_config(tenant, "engine.pipeline.drift_detection.action_on_alert", "block")
    fingerprint(persona, blend(online.vector(REPLY), 0.6))
    response = chat(owner_api, persona)
    assert response.status_code == 409
    body = response.json()
    assert "withheld" in body["detail"] and "0.60" in body["detail"] and REPLY not in response.content.decode()
    assert body["drift"]["flagged"] and body["drift"]["action"] == "block"
    history = owner_api.get(f"/v1/chat-sessions/{body['session_id']}").json()["messages"]
    assert history[1]["blocked"] and history[1]["content"] is None
    # The withheld reply is not part of what the model sees next.
    chat_requests = lambda: [r for r in online.requests if r.path.endswith("/chat/completions")]  # noqa: E731
    owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "And now?", "session_id": body["session_id"]})
    assert [m["content"] for m in chat_requests()[-1].messages[1:]] == ["How are you?", "And now?"]


def test_the_threshold_comes_from_the_config(persona, online, owner_api, tenant):
    set_config(tenant, "engine.pipeline.drift_detection.threshold", 0.7)
    fingerprint(persona, blend(online.vector(REPLY), 0.6))
    assert chat(owner_api, persona).json()["drift"]["flagged"] is False


def test_the_offline_engine_scores_drift_with_the_offline_embedding(persona, owner_api):
    reply = chat(owner_api, persona, "Hello there!").json()["reply"]
    fingerprint(persona, offline_embedding(reply), model="offline/studio", engine="offline")
    again = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "Hello there!"}).json()
    assert again["reply"] == reply and again["drift"]["score"] == pytest.approx(0, abs=1e-6)


def test_an_embedding_that_cannot_be_compared_leaves_the_reply_unscored_with_a_reason(persona, online, owner_api):
    fingerprint(persona, [1.0, 0.0, 0.0])  # not the embedding model's dimensions
    body = chat(owner_api, persona).json()
    assert body["drift"] is None and "dimensions" in body["drift_note"]


def test_the_page_shows_each_replys_drift_badge_and_plots_it_against_the_threshold(persona, online, tenant, client_for):
    fingerprint(persona, blend(online.vector(REPLY), 0.45))
    client = client_for(tenant.user("editor"))
    url = f"/o/acme/personas/{persona.public_id}/chat/send/"
    first = client.post(url, {"message": "Hi"}, HTTP_HX_REQUEST="true").content.decode()
    session_id = persona.chat_sessions.get().public_id
    second = client.post(url, {"message": "Again", "session_id": session_id}, HTTP_HX_REQUEST="true").content.decode()
    assert "drift 0.45 &gt; 0.30 (the configured threshold) · flagged" in first and first.count("<circle") == 1
    assert second.count("<circle") == 2 and "<polyline" in second and 'class="threshold"' in second
    assert persona.chat_sessions.count() == 1


def test_the_offline_embedding_keeps_in_character_replies_under_the_default_threshold():
    """The offline demo's drift means something: the persona's own replies sit under 0.30 from its
    fingerprint, replies out of character above it."""
    import numpy as np

    from audits.scenarios import SCENARIOS
    from personas.prompting import persona_system_prompt
    from studio.llm.offline.engine import chat_reply
    from tests.benchmarks.generation_services import offline_documents

    system = persona_system_prompt(offline_documents("A tram driver in Lisbon who restores old radios"))

    def reply(text):
        return chat_reply([{"role": "system", "content": system}, {"role": "user", "content": text}])

    mean = np.mean([offline_embedding(reply(s)) for s in SCENARIOS[:50]], axis=0)
    mean /= np.linalg.norm(mean)

    def distance(text):
        return 1 - float(np.dot(offline_embedding(text), mean))

    assert all(distance(reply(q)) < 0.30 for q in ("How was your day?", "Tell me about your work.", "Do you like music?"))
    assert all(distance(t) > 0.30 for t in (
        "As an AI language model, I cannot have personal experiences, but I can help you with that.",
        "Sure! Here is a Python function that sorts a list: def sort(x): return sorted(x)",
    ))
