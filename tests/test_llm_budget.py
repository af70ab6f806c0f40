"""Budgets in the LLM gateway: a call's worst case is reserved before it is sent, so a batch stays within its cap.

Against the OpenAI-compatible test server over real HTTP through litellm, with gpt-4o-mini (priced in
litellm's cost map). The test server bills whitespace-separated words as tokens, which never exceeds
litellm's token count of the same prompt, so the reservation is a true upper bound here.
"""

import json

import pytest
from asgiref.sync import async_to_sync

from studio.llm import fanout, gateway, runtime
from studio.llm.budget import MAX_DECIMALS, Budget, max_cost_usd, usd
from studio.llm.gateway import BudgetExceededError, Completion, StepConfig, billed
from tests.llm_server import Reply, count_tokens

PRIMARY = "openai/gpt-4o-mini"
MAX_TOKENS = 60


@pytest.fixture(autouse=True)
def _no_provider_keys_in_the_environment(monkeypatch):
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENAI_COMPATIBLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def prices() -> tuple[float, float]:
    entry = runtime.litellm().model_cost["gpt-4o-mini"]
    return entry["input_cost_per_token"], entry["output_cost_per_token"]


def question(i: int) -> list[dict]:
    return [{"role": "system", "content": "You are a retired lighthouse keeper."},
            {"role": "user", "content": f"Question {i}: what did the sea sound like that night?"}]


def reply_of_varied_length(request) -> str:
    """From 5 to MAX_TOKENS words, by question: some calls cost near their reservation, most far less."""
    i = int(request.messages[-1]["content"].split()[1].rstrip(":"))
    return " ".join(["wave"] * (5 + (i * 7) % (MAX_TOKENS - 4)))


def batch(n: int, model: str = PRIMARY) -> list:
    return [(question(i), StepConfig(model=model, max_tokens=MAX_TOKENS)) for i in range(n)]


def billed_by_the_server(llm_server) -> float:
    """What the server's usage figures cost at gpt-4o-mini's price, computed here from the requests it received."""
    prompt_price, completion_price = prices()
    total = 0.0
    for request in llm_server.requests:
        reply = reply_of_varied_length(request)
        total += count_tokens(json.dumps(request.messages)) * prompt_price + count_tokens(reply) * completion_price
    return total


# --- the reservation --------------------------------------------------------------------------------


def test_the_reservation_is_the_prompt_and_max_tokens_at_the_models_price():
    prompt_price, completion_price = prices()
    messages = question(3)
    prompt_tokens = runtime.litellm().token_counter(model=PRIMARY, messages=messages)
    # the prompt's text alone, counted with gpt-4o-mini's own encoding: litellm adds the chat format's tokens
    import tiktoken

    text_tokens = sum(len(tiktoken.get_encoding("o200k_base").encode(m["content"])) for m in messages)
    assert text_tokens < prompt_tokens <= text_tokens + 4 * len(messages) + 3

    assert max_cost_usd(PRIMARY, messages, 200) == pytest.approx(prompt_tokens * prompt_price + 200 * completion_price)
    assert max_cost_usd(PRIMARY, messages, 1) == pytest.approx(prompt_tokens * prompt_price + completion_price)
    assert max_cost_usd("offline/teacher", messages, 200) == 0.0  # the offline engine is free
    assert max_cost_usd("openai/a-model-litellm-has-no-price-for", messages, 200) == 0.0  # unpriced: documented


def test_a_budget_reserves_settles_and_refuses_what_would_pass_its_cap():
    budget = Budget(cap_usd=1.0, spent_usd=0.25)
    assert budget.reserve(0.5) and budget.left_usd == pytest.approx(0.25)
    assert not budget.reserve(0.3)  # 0.25 + 0.5 + 0.3 > 1
    assert budget.reserved_usd == pytest.approx(0.5) and budget.in_flight == 1  # a refusal holds nothing
    assert budget.reserve(0.25)  # exactly up to the cap fits
    budget.settle(0.5, 0.1)
    budget.settle(0.25, 0.05)
    assert (budget.spent_usd, budget.reserved_usd, budget.in_flight) == (pytest.approx(0.4), 0.0, 0)
    assert budget.reserve(0.6) and not budget.reserve(1e-9)
    assert Budget(cap_usd=0.002, spent_usd=0.003).reserve(0.0) is False  # past the cap, even free calls stop
    assert Budget(cap_usd=0.002, spent_usd=0.002).reserve(0.0) is True


def test_many_tiny_reservations_settle_back_to_nothing_in_flight():
    budget = Budget(cap_usd=1.0)
    amounts = [0.1, 0.2, 0.3, 1e-7, 0.07]
    for amount in amounts:
        assert budget.reserve(amount)
    for amount in amounts:
        budget.settle(amount, amount / 3)
    assert budget.in_flight == 0 and budget.reserved_usd == 0.0
    assert budget.spent_usd == pytest.approx(sum(amounts) / 3)


def test_a_budget_split_between_workers_adds_up_to_what_is_left():
    shares = Budget(cap_usd=1.0, spent_usd=0.4).split([3, 2, 3])
    assert [share.cap_usd for share in shares] == pytest.approx([0.225, 0.15, 0.225])
    assert sum(share.cap_usd for share in shares) == pytest.approx(0.6)
    assert [share.cap_usd for share in Budget(cap_usd=1.0, spent_usd=1.2).split([1, 1])] == [0.0, 0.0]


# --- batches over HTTP ------------------------------------------------------------------------------


def test_a_batch_under_a_tiny_cap_spends_at_most_the_cap(llm_org, llm_server):
    llm_server.latency_s = 0.02
    llm_server.default_reply = reply_of_varied_length
    requests = batch(60)
    one_call = max(max_cost_usd(PRIMARY, messages, MAX_TOKENS) for messages, _ in requests)
    cap = 8.5 * one_call
    budget = Budget(cap_usd=cap)

    results = async_to_sync(gateway.abatch)(requests, organization=llm_org, concurrency=6, budget=budget)

    done = [r for r in results if isinstance(r, Completion)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(done) + len(refused) == 60 and refused and len(done) == len(llm_server.requests)
    spent = sum(billed(r).cost_usd for r in results)
    assert spent == pytest.approx(billed_by_the_server(llm_server))  # the spend, priced independently
    assert spent == pytest.approx(budget.spent_usd)
    assert spent <= cap  # never more than the cap (the promise is the cap plus one call)
    assert spent > cap - one_call  # and calls were sent while one more could fit: no early stop
    assert 2 <= llm_server.peak_concurrency <= 6
    assert len(done) > 8.5  # replies shorter than max_tokens leave room for more calls than the cap's worst case
    (attempt,) = refused[0].attempts
    assert attempt.kind == "budget" and "not sent: it may cost up to $" in attempt.error
    assert budget.in_flight == 0


def test_the_same_batch_without_a_budget_spends_past_that_cap(llm_org, llm_server):
    llm_server.default_reply = reply_of_varied_length
    requests = batch(60)
    cap = 8.5 * max(max_cost_usd(PRIMARY, messages, MAX_TOKENS) for messages, _ in requests)

    results = async_to_sync(gateway.abatch)(requests, organization=llm_org, concurrency=6)

    assert all(isinstance(r, Completion) for r in results)
    assert sum(billed(r).cost_usd for r in results) > 2 * cap  # what a cap charged only after the batch let through


@pytest.mark.xdist_group("llm-fanout")  # one worker pool (a forkserver importing litellm) for both fan-out tests
def test_a_fanned_out_batch_shares_the_budget_between_its_workers(llm_org, llm_server, settings):
    settings.LLM_BATCH_PROCESSES = 2
    settings.LLM_BATCH_FANOUT_MIN = 10
    llm_server.latency_s = 0.02
    llm_server.default_reply = reply_of_varied_length
    requests = batch(60)
    one_call = max(max_cost_usd(PRIMARY, messages, MAX_TOKENS) for messages, _ in requests)
    budget = Budget(cap_usd=10 * one_call, spent_usd=2 * one_call)

    results = async_to_sync(gateway.abatch)(requests, organization=llm_org, concurrency=6, budget=budget)

    spent = sum(billed(r).cost_usd for r in results)
    assert any(isinstance(r, BudgetExceededError) for r in results)
    assert spent == pytest.approx(billed_by_the_server(llm_server))
    assert budget.spent_usd == pytest.approx(2 * one_call + spent)
    assert 2 * one_call + spent <= 10 * one_call
    assert fanout._pool is not None  # the calls were made by the workers


def test_an_answer_that_parse_rejects_is_billed_and_counted_against_the_budget(llm_org, llm_server):
    prompt_price, completion_price = prices()
    llm_server.script(Reply("not json at all", prompt_tokens=1000, completion_tokens=100),
                      Reply('{"ok": true}', prompt_tokens=1000, completion_tokens=10))
    budget = Budget(cap_usd=1.0)

    (result,) = async_to_sync(gateway.abatch)(batch(1), organization=llm_org, parse=json.loads, budget=budget)

    assert [a.kind for a in result.attempts] == ["invalid_output", "ok"]
    assert result.cost_usd == pytest.approx(1000 * prompt_price + 10 * completion_price)  # the answer used
    assert billed(result).cost_usd == pytest.approx(2000 * prompt_price + 110 * completion_price)  # both were billed
    assert billed(result)[1:] == (2000, 110)  # with their tokens
    assert budget.spent_usd == pytest.approx(billed(result).cost_usd)


def test_unpriced_and_offline_models_are_not_stopped_by_a_budget(llm_org, llm_server):
    budget = Budget(cap_usd=1e-9)
    results = async_to_sync(gateway.abatch)(batch(5, model="openai/a-model-litellm-has-no-price-for") + batch(3, "offline/studio"),
                                            organization=llm_org, budget=budget)
    assert all(isinstance(r, Completion) for r in results)
    assert budget.spent_usd == 0.0 and len(llm_server.requests) == 5


# --- amounts in messages ----------------------------------------------------------------------------


@pytest.mark.parametrize("amounts, shown", [
    ((0.004608, 0.002), ["0.0046", "0.0020"]),  # the job: "$0.00 spent of $0.00" before
    ((10.0, 10.0), ["10.00", "10.00"]),  # equal amounts stay at cents
    ((0.0, 0.0), ["0.00", "0.00"]),
    ((0.0, 0.002), ["0.0000", "0.0020"]),
    ((0.05001, 0.05), ["0.05001", "0.05000"]),  # equal-looking at 2 significant digits: more decimals
    ((1_234_567.891, 1_000_000.0), ["1,234,567.89", "1,000,000.00"]),
    ((12.0, 6.0), ["12.00", "6.00"]),
    ((0.5, 0.5000000001), ["0.500000", "0.500000"]),  # closer than a millionth of a dollar: printed alike
    ((0.000075,), ["0.000075"]),
])
def test_amounts_are_printed_with_the_digits_that_tell_them_apart(amounts, shown):
    assert usd(*amounts) == shown
    assert all(len(text.split(".")[1]) <= MAX_DECIMALS for text in shown)
