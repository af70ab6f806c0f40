"""A training job's budget cap holds: its LLM calls reserve their worst case before they are sent.

Before reservations the cap was checked only after a whole chunk of calls had come back: a $0.002 cap
let $0.0023 through at concurrency 16 and $0.0098 at concurrency 64, and the kill read "$0.00 spent of $0.00".
"""

import json
from decimal import Decimal

import pytest

from studio.llm import runtime
from tests.llm_server import count_tokens, echo_reply
from training_jobs.models import JobStatus

CAP = 0.002
MAX_NEW_TOKENS = 96


def prices() -> tuple[float, float]:
    entry = runtime.litellm().model_cost["gpt-4o-mini"]
    return entry["input_cost_per_token"], entry["output_cost_per_token"]


# 64: chunks of 256 calls, fanned out to worker processes, in the xdist worker that runs the other fan-out tests: one
# worker pool (a forkserver importing litellm, ~5 CPU-s) serves them all
@pytest.mark.parametrize("concurrency", [16, pytest.param(64, marks=pytest.mark.xdist_group("llm-fanout"))])
def test_a_job_with_a_small_budget_is_killed_within_its_cap(persona, launch, llm_org, llm_server, concurrency):
    job = launch(persona, teacher_model="openai/gpt-4o-mini", student_model="openai/gpt-4o-mini", budget_usd=CAP,
                 dpo_pairs=300, concurrency=concurrency, max_new_tokens=MAX_NEW_TOKENS)

    assert job.status == JobStatus.KILLED and job.kill["criterion"] == "budget"
    prompt_price, completion_price = prices()
    # what the provider billed, priced here from the server's own usage figures
    billed = sum(count_tokens(json.dumps(r.messages)) * prompt_price + count_tokens(echo_reply(r)) * completion_price
                 for r in llm_server.requests)
    assert float(job.cost_usd) == pytest.approx(billed, abs=1e-6)  # the job stores 6 decimals
    # the worst case of one call: the longest prompt as litellm counts it, and a full reply
    litellm = runtime.litellm()
    one_call = max(litellm.token_counter(model="gpt-4o-mini", messages=r.messages) * prompt_price
                   + MAX_NEW_TOKENS * completion_price for r in llm_server.requests)
    assert job.cost_usd <= Decimal(str(CAP + one_call))  # the promise
    assert billed <= CAP  # and with a provider that counts tokens as litellm does, the cap itself
    assert billed > CAP - one_call  # the job was stopped only when the next call might not fit
    assert 300 * 2 > len(llm_server.requests)
    assert job.kill["numbers"]["spent_usd"] == pytest.approx(billed, abs=1e-6)
    assert "of $0.0020" in job.error and "$0.00 " not in job.error  # amounts with the digits that tell them apart
    assert "the next call could cost more than" in job.error
