"""Large batches fanned out across worker processes, each with its own event loop.

litellm spends a few milliseconds of CPU on every call (request building, response
objects, its own cost and logging bookkeeping). One event loop on one core then
caps a batch: at concurrency 64 each round trip waits for the CPU work of the
whole wave. Split across processes, each loop carries a share of the
concurrency (the shares add up to the batch's bound, never more) and the cores
work in parallel.

Workers come from a `forkserver` that has already imported litellm, so they start
in milliseconds after the first time, and never inherit the threads of a web or
Celery process. They live as long as this process and keep their HTTP
connections between batches. Credentials travel in the routes; Django is set up in
a worker only so that `parse` functions from app modules can be unpickled there.

A batch's budget is shared out too: each worker gets what is left times its share of the
concurrency, so together they cannot pass the cap (a worker may stop a call or so early
while another still has some of its share).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from studio.llm import attempts, runtime
from studio.llm.budget import Budget
from studio.llm.results import billed

logger = logging.getLogger(__name__)

_START_FAILURES = (BrokenProcessPool, OSError, AssertionError, RuntimeError)
_REPARSE = "__studio_reparse__"  # a parsed value that could not be pickled: parse again here

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def picklable(value) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def pool(processes: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the forkserver imports litellm
            context = multiprocessing.get_context("forkserver")
            django_settings = os.environ.get("DJANGO_SETTINGS_MODULE")
            # forks start warm: litellm imported and Django's apps loaded once, in the forkserver
            context.set_forkserver_preload(["litellm", "studio.llm.fanout", "studio.llm.fanout_preload"])
            _pool = ProcessPoolExecutor(
                processes, mp_context=context, initializer=_init_worker, initargs=(django_settings,)
            )
            _pool_size = processes
        return _pool


def discard_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def warm(processes: int) -> None:
    """Start the workers now (e.g. when a worker process boots) instead of on the first big batch."""
    executor = pool(processes)
    for future in [executor.submit(_ping) for _ in range(processes * 2)]:
        future.result()


async def run_batch(items, *, concurrency: int, processes: int, parse, policy, budget: Budget | None = None) -> list:
    """Like attempts.run_batch, split round-robin over `processes` workers sharing `concurrency` (and `budget`)."""
    processes = max(1, min(processes, concurrency, len(items)))
    shares = [concurrency // processes + (1 if n < concurrency % processes else 0) for n in range(processes)]
    # every `concurrency` consecutive items give each worker as many as its share of the slots
    stripes = [worker for worker, share in enumerate(shares) for _ in range(share)]
    chunks = [[i for i in range(len(items)) if stripes[i % len(stripes)] == worker] for worker in range(processes)]
    budgets = budget.split(shares) if budget is not None else [None] * len(shares)
    loop = asyncio.get_running_loop()
    try:
        executor = pool(processes)
        futures = [
            loop.run_in_executor(executor, _run_chunk, [items[i] for i in chunk], share, parse, policy, part)
            for chunk, share, part in zip(chunks, shares, budgets)
        ]
    except _START_FAILURES as exc:  # e.g. called from a daemonic process, which may not have children
        logger.warning("LLM batch workers unavailable (%s); running the batch in this process", exc)
        discard_pool()
        return await attempts.run_batch(items, concurrency=concurrency, parse=parse, policy=policy, budget=budget)
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    results: list = [None] * len(items)
    for chunk, share, part, outcome in zip(chunks, shares, budgets, outcomes):
        if isinstance(outcome, (BrokenProcessPool, OSError)):
            # A worker died: its share runs here (some of its calls may have been made twice).
            logger.warning("an LLM batch worker failed (%s); running its share in this process", outcome)
            discard_pool()
            outcome = await attempts.run_batch([items[i] for i in chunk], concurrency=share, parse=parse, policy=policy,
                                               budget=part)
        elif isinstance(outcome, BaseException):
            raise outcome
        if budget is not None:
            budget.spent_usd += sum(billed(result).cost_usd for result in outcome)
        for i, result in zip(chunk, outcome):
            if isinstance(getattr(result, "parsed", None), str) and result.parsed == _REPARSE:
                result = replace(result, parsed=parse(result.text))
            results[i] = result
    return results


# --- in the worker processes -----------------------------------------------------------

_loop: asyncio.AbstractEventLoop | None = None


def _init_worker(django_settings: str | None) -> None:
    global _loop
    runtime.litellm()
    if django_settings:  # so parse functions from app modules (schemas next to models) unpickle here
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", django_settings)
        django.setup()
    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)


def _ping() -> bool:
    return True


def _run_chunk(items, concurrency, parse, policy, budget=None) -> list:
    results = _loop.run_until_complete(
        attempts.run_batch(items, concurrency=concurrency, parse=parse, policy=policy, budget=budget))
    if parse is not None:
        results = [r if not hasattr(r, "parsed") or picklable(r.parsed) else replace(r, parsed=_REPARSE) for r in results]
    return results
