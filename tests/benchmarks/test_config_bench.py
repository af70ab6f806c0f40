"""Config tree figures: effective-tree queries at 50 and 5,000 stored keys, and rollback vs bulk-set time.

The 5,000 keys are per-persona review weights (`reviews.persona.<id>.axis_weights`),
real keys of the schema, stored as org overrides.
"""

import statistics
import time
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio import services as tenancy
from studio.config.schema import persona_weights_key
from studio.config.selectors import effective_tree
from studio.config.services import BulkItem, Operator, config_bulk_set, config_rollback, config_snapshot_create

WEIGHTS_A = {"in_character": 0.5, "protocol_adherent": 0.25, "closure_complete": 0.25}
WEIGHTS_B = {"in_character": 0.6, "protocol_adherent": 0.2, "closure_complete": 0.2}
ROUNDS = 3


def _org_with_keys(count: int):
    org = tenancy.org_create(name=f"Bench {count}", slug=f"bench-{count}")
    actor = Operator(organization=org, name="bench")
    keys = [persona_weights_key(uuid.uuid4()) for _ in range(count)]
    config_bulk_set(actor=actor, items=[BulkItem(key, WEIGHTS_A) for key in keys])
    return org, actor, keys


def _tree_queries(org) -> int:
    workspace = org.workspaces.get(slug="default")
    with CaptureQueriesContext(connection) as captured:
        effective_tree(org, workspace)
    return len(captured.captured_queries)


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def test_config_tree_figures(db, capsys):
    small, _, _ = _org_with_keys(50)
    org, actor, keys = _org_with_keys(5000)
    queries = {50: _tree_queries(small), 5000: _tree_queries(org)}
    assert queries[50] == queries[5000]

    snapshot = config_snapshot_create(actor=actor, label="A")
    bulk_times, rollback_times = [], []
    for _ in range(ROUNDS):
        bulk_times.append(_timed(lambda: config_bulk_set(actor=actor, items=[BulkItem(k, WEIGHTS_B) for k in keys])))
        rollback_times.append(_timed(lambda: config_rollback(actor=actor, snapshot=snapshot, reason="bench")))
    assert effective_tree(org).axis_weights(keys[0].split(".")[2]) == WEIGHTS_A

    bulk, rollback = statistics.median(bulk_times), statistics.median(rollback_times)
    with capsys.disabled():
        print(f"\nconfig: effective-tree queries — 50 keys: {queries[50]}, 5,000 keys: {queries[5000]}")
        print(
            f"config: rollback of a 5,000-item snapshot / bulk-set of the same 5,000 items = {rollback / bulk:.2f} "
            f"(median of {ROUNDS}: rollback {rollback * 1000:.0f} ms, bulk set {bulk * 1000:.0f} ms; "
            f"{connection.vendor})"
        )
