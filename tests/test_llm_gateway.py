"""The LLM gateway against a real OpenAI-compatible server, through litellm's openai/ route."""

import asyncio
import json
import time
import urllib.request

import pytest
from asgiref.sync import async_to_sync
from pydantic import BaseModel, ConfigDict

from studio import services
from studio.llm import attempts, fanout, gateway, runtime
from studio.llm.gateway import Completion, LLMError, NoCredentialsError, StepConfig
from tests.llm_server import MALFORMED_JSON, RATE_LIMIT, SERVER_ERROR, TIMEOUT, UNAVAILABLE, Fault, Reply, rate_limit

PRIMARY = "openai/gpt-4o-mini"  # in litellm's cost map, so responses are priced
USER = [{"role": "user", "content": "Describe a lighthouse keeper."}]


class Soul(BaseModel):
    model_config = ConfigDict(extra="forbid")
    desire: str
    fear: str


def parse_soul(text: str) -> Soul:
    return Soul.model_validate_json(text)


SOUL = '{"desire": "to be seen as ordinary", "fear": "being pitied"}'


def config(*fallbacks, **knobs) -> StepConfig:
    return StepConfig(model=PRIMARY, fallbacks=fallbacks, **knobs)


def kinds(completion_or_error) -> list[str]:
    return [attempt.kind for attempt in completion_or_error.attempts]


@pytest.fixture(autouse=True)
def _no_provider_keys_in_the_environment(monkeypatch):
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENAI_COMPATIBLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def test_a_completion_reports_text_tokens_cost_latency_and_the_model(llm_org, llm_server):
    llm_server.script(Reply("A keeper of lights.", prompt_tokens=1000, completion_tokens=500))

    completion = gateway.complete(USER, config(), organization=llm_org)

    prices = runtime.litellm().model_cost["gpt-4o-mini"]
    assert completion.text == "A keeper of lights."
    assert completion.model == PRIMARY
    assert (completion.prompt_tokens, completion.completion_tokens) == (1000, 500)
    expected = 1000 * prices["input_cost_per_token"] + 500 * prices["output_cost_per_token"]
    assert completion.cost_usd == pytest.approx(expected)
    assert completion.latency_ms > 0
    assert kinds(completion) == ["ok"]
    (request,) = llm_server.requests
    assert request.model == "gpt-4o-mini" and request.messages == USER
    assert request.headers["Authorization"] == "Bearer sk-test-12345678"


def test_a_rate_limit_is_retried_on_the_same_model(llm_org, llm_server):
    llm_server.script(RATE_LIMIT, "second time lucky")

    completion = gateway.complete(USER, config("openai/other"), organization=llm_org)

    assert completion.text == "second time lucky" and completion.model == PRIMARY
    assert kinds(completion) == ["rate_limit", "ok"]
    assert "429" in completion.attempts[0].error
    assert [r.model for r in llm_server.requests] == ["gpt-4o-mini", "gpt-4o-mini"]


def test_retry_after_from_the_provider_is_waited_for(llm_org, llm_server):
    llm_server.script(rate_limit(retry_after=0.3), "ok")

    started = time.perf_counter()
    completion = gateway.complete(USER, config(), organization=llm_org)

    assert kinds(completion) == ["rate_limit", "ok"]
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize("fault", [SERVER_ERROR, UNAVAILABLE], ids=["500", "503"])
def test_server_errors_are_retried(llm_org, llm_server, fault):
    llm_server.script(fault, fault, "recovered")

    completion = gateway.complete(USER, config(), organization=llm_org)

    assert kinds(completion) == ["server_error", "server_error", "ok"]
    assert completion.text == "recovered"


def test_a_timeout_is_retried(llm_org, llm_server):
    llm_server.script(TIMEOUT, "in time")

    completion = gateway.complete(USER, config(timeout_s=0.3), organization=llm_org)

    assert kinds(completion) == ["timeout", "ok"]
    assert completion.attempts[0].latency_ms >= 250


def test_a_malformed_response_body_is_a_failed_attempt_and_retried(llm_org, llm_server):
    llm_server.script(MALFORMED_JSON, "well formed")

    completion = gateway.complete(USER, config(), organization=llm_org)

    assert completion.text == "well formed"
    assert len(completion.attempts) == 2 and not completion.attempts[0].ok
    assert completion.attempts[0].kind in {"server_error", "connection", "error"}


@pytest.mark.parametrize("blank", ["", "   \n\t "], ids=["empty", "whitespace"])
def test_an_empty_or_blank_reply_is_a_failed_attempt_and_retried(llm_org, llm_server, blank):
    llm_server.script(blank, "something to say")

    completion = gateway.complete(USER, config(), organization=llm_org)

    assert kinds(completion) == ["empty", "ok"] and completion.text == "something to say"
    assert completion.attempts[0].error == "the model returned an empty reply"


def test_a_model_that_only_answers_empty_fails_the_call_never_returning_empty_content(llm_org, llm_server):
    llm_server.script("", "", "", "", model=PRIMARY)

    with pytest.raises(LLMError) as raised:
        gateway.complete(USER, config(), organization=llm_org)

    assert {a.kind for a in raised.value.attempts} == {"empty"}


def test_schema_invalid_output_is_retried_then_the_fallback_is_used(llm_org, llm_server):
    llm_server.script("not json at all", '{"desire": "x"}', '{"desire": "x", "fear": "y", "age": 3}', model=PRIMARY)
    llm_server.script(SOUL, model="openai/fallback")

    completion = gateway.complete(USER, config("openai/fallback"), organization=llm_org, parse=parse_soul)

    assert kinds(completion) == ["invalid_output"] * 3 + ["ok"]
    assert completion.model == "openai/fallback"
    assert completion.parsed == Soul(desire="to be seen as ordinary", fear="being pitied")
    assert "fear" in completion.attempts[1].error  # the validation error says what was wrong


def test_max_retries_bounds_the_attempts_on_one_model(llm_org, llm_server):
    llm_server.script(SERVER_ERROR, SERVER_ERROR, model=PRIMARY)

    completion = gateway.complete(USER, config("openai/fallback"), organization=llm_org, max_retries=1)

    assert [a.model for a in completion.attempts] == [PRIMARY, PRIMARY, "openai/fallback"]


def test_the_fallback_chain_is_walked_in_order(llm_org, llm_server):
    llm_server.script(Fault("status", status=401), model=PRIMARY)  # auth: not retried
    llm_server.script(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, model="openai/second")
    llm_server.script("third answers", model="openai/third")

    completion = gateway.complete(USER, config("openai/second", "openai/third"), organization=llm_org)

    assert completion.model == "openai/third" and completion.text == "third answers"
    assert [(a.model, a.kind) for a in completion.attempts] == [
        (PRIMARY, "auth"),
        *[("openai/second", "server_error")] * 3,
        ("openai/third", "ok"),
    ]
    assert [r.model for r in llm_server.requests] == ["gpt-4o-mini"] + ["second"] * 3 + ["third"]


def test_when_every_attempt_fails_the_error_lists_each_one(llm_org, llm_server):
    llm_server.script(*[SERVER_ERROR] * 3, model=PRIMARY)
    llm_server.script(Fault("status", status=400), model="openai/second")

    with pytest.raises(LLMError) as caught:
        gateway.complete(USER, config("openai/second"), organization=llm_org)

    error = caught.value
    assert not isinstance(error, NoCredentialsError)
    assert kinds(error) == ["server_error"] * 3 + ["bad_request"]
    message = str(error)
    assert "all 4 LLM attempts failed" in message
    assert message.count(PRIMARY) == 3 and "openai/second — bad_request" in message


def test_without_credentials_the_error_names_the_provider(tenant, llm_server):
    with pytest.raises(NoCredentialsError) as caught:
        gateway.complete(USER, StepConfig(model="anthropic/claude-opus-4-7"), organization=tenant.org)

    message = str(caught.value)
    assert "no credentials for provider 'anthropic' (model anthropic/claude-opus-4-7)" in message
    assert "ANTHROPIC_API_KEY" in message
    assert kinds(caught.value) == ["no_credentials"]
    assert llm_server.requests == []


def test_a_model_without_credentials_is_skipped_for_the_next_in_the_chain(llm_org, llm_server):
    chain = StepConfig(model="anthropic/claude-opus-4-7", fallbacks=(PRIMARY,))

    completion = gateway.complete(USER, chain, organization=llm_org)

    assert kinds(completion) == ["no_credentials", "ok"] and completion.model == PRIMARY


def test_environment_credentials_are_the_fallback(tenant, llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "sk-from-env-123")
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_BASE", llm_server.url + "/v1")

    completion = gateway.complete(USER, config(), organization=tenant.org)

    assert completion.model == PRIMARY
    assert llm_server.requests[0].headers["Authorization"] == "Bearer sk-from-env-123"


def test_stop_sequences_temperature_and_max_tokens_reach_the_provider(llm_org, llm_server):
    knobs = config(temperature=0.2, max_tokens=77, stop=("\nUser:", "\nAssistant:"))

    gateway.complete(USER, knobs, organization=llm_org)

    params = llm_server.requests[0].params
    assert params["temperature"] == 0.2
    assert params.get("max_tokens", params.get("max_completion_tokens")) == 77
    assert params["stop"] == ["\nUser:", "\nAssistant:"]
    assert "response_format" not in params


def test_json_mode_asks_for_a_json_object(llm_org, llm_server):
    gateway.complete(USER, config(json_mode=True), organization=llm_org)

    assert llm_server.requests[0].params["response_format"] == {"type": "json_object"}


def test_a_step_config_comes_from_the_config_tree():
    step = {"model": "anthropic/claude-sonnet-4-6", "temperature": 0.4, "max_tokens": 900, "fallbacks": ["openai/x"], "enabled": True}

    knobs = StepConfig.from_step(step, json_mode=True)

    assert knobs == StepConfig("anthropic/claude-sonnet-4-6", 0.4, 900, ("openai/x",), json_mode=True)
    assert knobs.models == ("anthropic/claude-sonnet-4-6", "openai/x")


def test_acomplete_takes_the_same_path(llm_org, llm_server):
    llm_server.script(RATE_LIMIT, "async answer")

    completion = async_to_sync(gateway.acomplete)(USER, config(), organization=llm_org)

    assert completion.text == "async answer" and kinds(completion) == ["rate_limit", "ok"]


def batch_of(n: int, failing=()):
    return [
        ([{"role": "user", "content": f"prompt {i}"}], StepConfig(model="openai/broken" if i in failing else PRIMARY))
        for i in range(n)
    ]


def test_abatch_keeps_order_bounds_concurrency_and_returns_errors_in_place(llm_org, llm_server):
    llm_server.latency_s = 0.05
    llm_server.script(*[Fault("status", status=400)] * 2, model="openai/broken")

    results = async_to_sync(gateway.abatch)(batch_of(24, failing={5, 17}), organization=llm_org, concurrency=4)

    assert [type(r) for r in results] == [LLMError if i in {5, 17} else Completion for i in range(24)]
    assert [r.text for r in results if isinstance(r, Completion)] == [f"echo: prompt {i}" for i in range(24) if i not in {5, 17}]
    assert kinds(results[5]) == ["bad_request"]
    assert 2 <= llm_server.peak_concurrency <= 4


def test_abatch_reports_each_result_as_it_finishes_while_others_are_in_flight(llm_org, llm_server):
    """on_result is a job's progress: called once per request, with its index, while the batch is still running."""
    llm_server.latency_s = 0.05
    llm_server.script(Fault("status", status=400), model="openai/broken")
    seen, received_then = [], []

    async def on_result(index, result):
        seen.append((index, type(result)))
        received_then.append(len(llm_server.requests))

    results = async_to_sync(gateway.abatch)(batch_of(12, failing={3}), organization=llm_org, concurrency=4, on_result=on_result)

    assert sorted(seen) == [(i, LLMError if i == 3 else Completion) for i in range(12)]
    assert [type(r) for r in results] == [LLMError if i == 3 else Completion for i in range(12)]
    # the first report came while most requests had not been sent (4 in flight, then one per freed slot)
    assert received_then[0] <= 5 and received_then[-1] == 12


def test_embed_returns_vectors_in_order_with_their_cost(llm_org, llm_server):
    texts = ["a calm voice", "a sharp wit", "a quiet fear"]

    vectors, cost = gateway.embed(texts, "openai/text-embedding-3-small", organization=llm_org)

    assert vectors == [llm_server.vector(text) for text in texts]
    assert cost > 0
    assert llm_server.requests[0].body["input"] == texts


def EchoLLM():
    """A tiny custom provider: answers with the last message, reversed, without credentials."""
    from litellm import CustomLLM, ModelResponse

    class Echo(CustomLLM):
        def completion(self, model, messages, *args, **kwargs):
            return ModelResponse(choices=[{"message": {"role": "assistant", "content": messages[-1]["content"][::-1]}}])

        async def acompletion(self, model, messages, *args, **kwargs):
            return self.completion(model, messages)

    return Echo()


def test_a_registered_custom_provider_answers_without_credentials(tenant):
    gateway.register_custom_provider("testecho", "tests.test_llm_gateway:EchoLLM")

    completion = gateway.complete([{"role": "user", "content": "abc"}], StepConfig("testecho/any"), organization=tenant.org)
    batch = async_to_sync(gateway.abatch)([([{"role": "user", "content": "xyz"}], StepConfig("testecho/any"))])

    assert (completion.text, completion.model, completion.cost_usd) == ("cba", "testecho/any", 0.0)
    assert batch[0].text == "zyx"
    assert gateway.provider_for_model("testecho/any", tenant.org) is None


def SpyLLM():
    """A custom provider that keeps the arguments of each call it answers."""
    from litellm import CustomLLM

    class Spy(CustomLLM):
        calls: list[dict] = []

        def completion(self, model, messages, *, optional_params, model_response, **_):
            Spy.calls.append({"model": model, "messages": messages, "optional_params": dict(optional_params)})
            model_response.choices[0].message.content = "ok"
            return model_response

        async def acompletion(self, **kwargs):
            return self.completion(**kwargs)

    return Spy()


def test_an_in_process_provider_is_handed_what_litellm_would_hand_it(tenant):
    gateway.register_custom_provider("testspy", "tests.test_llm_gateway:SpyLLM")
    config = StepConfig("testspy/any", temperature=0.3, max_tokens=77, stop=("\n\n",), seed=5, top_p=0.9)
    route = attempts.Route("testspy/any")
    handler = runtime.custom_handler("testspy/any")
    handler.calls.clear()

    gateway.complete(USER, config, organization=tenant.org)
    async_to_sync(gateway.abatch)([(USER, config)])
    runtime.litellm().completion(**attempts.call_kwargs(route, USER, config))

    direct_sync, direct_async, through_litellm = handler.calls
    assert direct_sync == direct_async == through_litellm
    assert through_litellm["model"] == "any"
    assert {"temperature": 0.3, "max_tokens": 77, "stop": ["\n\n"], "seed": 5, "top_p": 0.9}.items() <= through_litellm["optional_params"].items()


def test_the_provider_of_a_model(tenant, llm_server):
    org = tenant.org
    assert gateway.provider_for_model("openai/my-model", org) == "openai"
    services.credential_set(organization=org, provider="openai_compatible", api_key="sk-test-12345678", api_base=llm_server.url)
    assert gateway.provider_for_model("openai/my-model", org) == "openai_compatible"
    assert gateway.provider_for_model("anthropic/claude-opus-4-7", org) == "anthropic"
    assert gateway.provider_for_model("claude-sonnet-4-6", org) == "anthropic"
    assert gateway.provider_for_model("gemini/gemini-2.0-flash", org) == "google"
    assert gateway.provider_for_model("gpt-4o-mini", org) == "openai"


def test_the_server_streams_and_can_cut_a_stream_short(llm_server):
    litellm = runtime.litellm()
    call = {"model": PRIMARY, "messages": USER, "api_key": "sk-test-1", "api_base": llm_server.url + "/v1", "stream": True}
    llm_server.script("one two three four five six")

    async def read(**extra):
        stream = await litellm.acompletion(**call, stream_options={"include_usage": True}, **extra)
        return [chunk async for chunk in stream]

    chunks = asyncio.run(read())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three four five six"
    llm_server.script(Fault("truncated_stream"))
    with pytest.raises(Exception):
        asyncio.run(read(max_retries=0))
    with urllib.request.urlopen(llm_server.url + "/v1/models") as response:
        assert json.load(response)["object"] == "list"


@pytest.mark.xdist_group("llm-fanout")  # one worker pool (a forkserver importing litellm) for both fan-out tests
def test_a_large_batch_is_fanned_out_to_worker_processes_within_the_same_bounds(llm_org, llm_server, settings):
    settings.LLM_BATCH_PROCESSES = 2
    settings.LLM_BATCH_FANOUT_MIN = 10
    llm_server.latency_s = 0.05
    llm_server.script(*[Fault("status", status=400)] * 1, model="openai/broken")
    llm_server.script(*[json.dumps({"desire": f"d{i}", "fear": "f"}) for i in range(30)], model=PRIMARY)

    results = async_to_sync(gateway.abatch)(batch_of(31, failing={30}), organization=llm_org, parse=parse_soul, concurrency=6)

    assert all(isinstance(r, Completion) for r in results[:30]) and isinstance(results[30], LLMError)
    assert sorted(r.parsed.desire for r in results[:30]) == sorted(f"d{i}" for i in range(30))
    assert [r.model for r in results[:30]] == [PRIMARY] * 30
    assert 2 <= llm_server.peak_concurrency <= 6
    assert fanout._pool is not None  # the calls were made by the workers
