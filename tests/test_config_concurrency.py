"""Optimistic concurrency: a write that carries a stale version gets 409; no update is ever lost."""

import threading

import pytest
from django.db import connection

from studio.config.selectors import effective_tree
from studio.config.services import config_set
from studio.errors import Conflict
from studio.principal import Principal

KEY = "engine.pipeline.fingerprint.scenarios"


def test_two_editors_from_the_same_version_the_second_gets_409(tenant, api_for):
    api = api_for(tenant.org)
    seen = api.get(f"/v1/config/{KEY}").json()["version"]
    first = api.put(f"/v1/config/{KEY}", json={"value": 60, "version": seen})
    assert first.status_code == 200
    second = api.put(f"/v1/config/{KEY}", json={"value": 70, "version": seen})
    assert second.status_code == 409
    assert KEY in second.json()["detail"][0]["msg"] and "stale" in second.json()["detail"][0]["msg"]
    assert api.get(f"/v1/config/{KEY}").json()["value"] == 60
    # With the version it now reads, the second editor's write goes through.
    assert api.put(f"/v1/config/{KEY}", json={"value": 70, "version": first.json()["item"]["version"]}).status_code == 200


def test_versions_never_repeat_so_unset_and_set_again_still_conflicts(tenant, api_for):
    api = api_for(tenant.org)
    seen = api.put(f"/v1/config/{KEY}", json={"value": 60}).json()["item"]["version"]
    api.delete(f"/v1/config/{KEY}")
    api.put(f"/v1/config/{KEY}", json={"value": 80})
    assert api.put(f"/v1/config/{KEY}", json={"value": 90, "version": seen}).status_code == 409


def test_version_zero_means_create_only(tenant, api_for):
    api = api_for(tenant.org)
    assert api.put(f"/v1/config/{KEY}", json={"value": 60, "version": 0}).status_code == 200
    assert api.put(f"/v1/config/{KEY}", json={"value": 61, "version": 0}).status_code == 409


def test_a_stale_version_on_unset_is_refused(tenant, api_for):
    api = api_for(tenant.org)
    seen = api.put(f"/v1/config/{KEY}", json={"value": 60}).json()["item"]["version"]
    api.put(f"/v1/config/{KEY}", json={"value": 61})
    assert api.delete(f"/v1/config/{KEY}?version={seen}").status_code == 409
    assert api.get(f"/v1/config/{KEY}").json()["value"] == 61


def test_a_whole_tree_version_guards_bulk_writes_and_rollback(tenant, api_for):
    api = api_for(tenant.org)
    tree_version = api.get("/v1/config").json()["version"]
    snapshot = api.post("/v1/config/snapshots", json={"label": "empty"}).json()
    api.put("/v1/config/engine.pipeline.audit.max_retries", json={"value": 1})  # someone else, another key
    stale_bulk = api.post("/v1/config/bulk", json={"version": tree_version, "items": [{"key": KEY, "value": 60}]})
    assert stale_bulk.status_code == 409
    stale_rollback = api.post(f"/v1/config/snapshots/{snapshot['id']}/rollback", json={"reason": "x", "version": tree_version})
    assert stale_rollback.status_code == 409
    assert api.get("/v1/config/engine.pipeline.audit.max_retries").json()["value"] == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_each_either_land_or_get_409_and_history_counts_every_landing(tenant):
    """Eight threads race to bump one key from the version each read; every success is one history entry."""
    actor = Principal.from_membership(tenant.membership("editor"))
    config_set(actor=actor, key=KEY, value=1)
    outcomes, barrier = [], threading.Barrier(8)

    def writer(n):
        try:
            seen = effective_tree(tenant.org).items[KEY].version
            barrier.wait()
            config_set(actor=actor, key=KEY, value=100 + n, version=seen)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("409")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 8 and outcomes.count("ok") == 1
    assert tenant.org.config_changes.filter(key=KEY).count() == 2
