"""Issue 18, org admins: the config tree searched and filtered with groups that fold, history one row per change,
undo points that name the original, the diff refreshed after a rollback, confirmations in the page, and an
Organizations page to create an org and switch to it."""

import re

import pytest

from studio.config.models import ConfigSnapshot
from studio.config.services import config_lock, config_preset_apply, config_rollback, config_set, config_snapshot_create
from studio.models import Membership, Organization
from studio.principal import Principal

KEY = "engine.pipeline.soul_draft.temperature"
HX = {"HTTP_HX_REQUEST": "true"}


def owner(tenant):
    return Principal.from_membership(tenant.membership("owner"))


@pytest.fixture
def admin(tenant, client_for):
    return client_for(tenant.user("admin"))


def rows(html: str) -> list[str]:
    return re.findall(r'<tr id="cfg-[^"]+" class="config-row[^"]*" data-key="([^"]+)"', html)


def test_groups_start_folded_with_what_is_set_and_locked_in_their_summary(tenant, admin):
    config_set(actor=owner(tenant), key=KEY, value=1.1)
    config_lock(actor=owner(tenant), key=KEY, reason="house style")
    html = admin.get("/o/acme/config/").content.decode()
    soul = re.search(r'<details class="card config-group" data-group="engine.pipeline.soul_draft"\s*>.*?</summary>', html, re.S).group(0)
    assert "1 set here" in soul and "1 locked" in soul
    assert not re.search(r'data-group="[^"]+" open>', html)
    assert "<th>Lock</th>" not in html and "Source · lock" in html  # no column that is empty but for locked keys


def test_a_search_shows_only_matching_keys_in_open_groups(tenant, admin):
    html = admin.get("/o/acme/config/?q=soul_draft+temperature", **HX).content.decode()
    assert rows(html) == [KEY]
    assert 'data-group="engine.pipeline.soul_draft" open>' in html and "1 key of " in html
    assert 'data-testid="config-no-match"' in admin.get("/o/acme/config/?q=nothing-like-this", **HX).content.decode()


def test_filters_by_step_source_and_lock(tenant, admin):
    config_set(actor=owner(tenant), key=KEY, value=1.1)
    config_set(actor=owner(tenant), key="engine.pipeline.audit.max_retries", value=1)
    config_lock(actor=owner(tenant), key="engine.pipeline.audit.max_retries", reason="cost")
    by_step = rows(admin.get("/o/acme/config/?group=engine.pipeline.audit", **HX).content.decode())
    assert by_step and all(key.startswith("engine.pipeline.audit.") for key in by_step)
    assert set(rows(admin.get("/o/acme/config/?source=org", **HX).content.decode())) == {KEY, "engine.pipeline.audit.max_retries"}
    assert rows(admin.get("/o/acme/config/?locked=yes", **HX).content.decode()) == ["engine.pipeline.audit.max_retries"]
    both = admin.get("/o/acme/config/?source=org&locked=no&q=temperature", **HX).content.decode()
    assert rows(both) == [KEY]
    page = admin.get("/o/acme/config/?source=bogus&locked=maybe").content.decode()  # unknown filter values are ignored
    assert len(rows(page)) > 50


def test_history_shows_one_row_per_change_expandable_to_its_keys(tenant, admin):
    config_preset_apply(actor=owner(tenant), name="openai", reason="switch")
    config_set(actor=owner(tenant), key=KEY, value=1.1, reason="warmer")
    html = admin.get("/o/acme/config/history/").content.decode()
    preset = re.search(r'<tr data-action="preset" data-keys="(\d+)">.*?</tr>', html, re.S)
    assert preset and int(preset.group(1)) > 5
    assert f"{preset.group(1)} keys</summary>" in preset.group(0)
    assert html.count('data-action="preset"') == 1 and html.count('data-action="set"') == 1
    assert "engine.<wbr>pipeline.<wbr>soul_draft.<wbr>temperature" in html  # keys wrap only after their dots


def test_rolling_back_to_an_undo_point_names_the_original_instead_of_nesting(tenant):
    config_set(actor=owner(tenant), key=KEY, value=1.1)
    calm = config_snapshot_create(actor=owner(tenant), label="calm")
    config_set(actor=owner(tenant), key=KEY, value=1.9)
    undo = config_rollback(actor=owner(tenant), snapshot=calm, reason="too hot").before_snapshot
    assert re.fullmatch(r"Before rollback to “calm” \(\d{4}-\d\d-\d\d \d\d:\d\d\)", undo.label)
    redo = config_rollback(actor=owner(tenant), snapshot=undo, reason="undo").before_snapshot
    assert re.fullmatch(r"Before undoing the rollback to “calm” \(\d{4}-\d\d-\d\d \d\d:\d\d\)", redo.label)
    again = config_rollback(actor=owner(tenant), snapshot=redo, reason="undo the undo").before_snapshot
    assert again.label.count("“") == 1 and "“calm”" in again.label
    assert all(s.label.count("“") <= 1 for s in ConfigSnapshot.objects.all())


def test_a_rollback_brings_the_diff_panel_back_against_the_tree_now(tenant, admin):
    config_set(actor=owner(tenant), key=KEY, value=1.1)
    calm = config_snapshot_create(actor=owner(tenant), label="calm")
    config_set(actor=owner(tenant), key=KEY, value=1.9)
    assert "diff-changed" in admin.get(f"/o/acme/config/snapshots/{calm.public_id}/diff/?against=now", **HX).content.decode()
    html = admin.post(f"/o/acme/config/snapshots/{calm.public_id}/rollback/", {"reason": "too hot"}, **HX).content.decode()
    oob = re.search(r'<div id="diff-panel"[^>]*hx-swap-oob="true">.*?</section>', html, re.S).group(0)
    assert "“calm” → now" in oob and "No differences." in oob


def test_confirmations_are_asked_in_the_page(tenant, admin):
    from django.contrib.staticfiles import finders

    script = open(finders.find("studio/ui.js")).read()
    assert 'addEventListener("htmx:confirm"' in script and "showModal" in script and "issueRequest(true)" in script
    calm = config_snapshot_create(actor=owner(tenant), label="calm")
    snapshots = admin.get("/o/acme/config/snapshots/").content.decode()
    assert 'data-confirm-label="Roll back"' in snapshots and str(calm.public_id) in snapshots
    assert 'data-confirm-label="Apply preset"' in admin.get("/o/acme/config/").content.decode()
    assert "studio/ui.js" in snapshots


def test_the_organizations_page_lists_mine_and_creates_one_i_own(tenant, client_for):
    client = client_for(tenant.user("editor"))
    page = client.get("/orgs/").content.decode()
    assert "Acme" in page and 'data-testid="org-create"' in page
    response = client.post("/orgs/", {"name": "Tidewater Games", "slug": ""})
    org = Organization.objects.get(slug="tidewater-games")
    assert response.status_code == 302 and response["Location"] == "/o/tidewater-games/"
    assert Membership.objects.get(organization=org, user=tenant.user("editor")).role == "owner"
    assert org.workspaces.filter(slug="default").exists()
    listed = client.get("/orgs/").content.decode()
    assert 'data-testid="switch-acme"' in listed and "Tidewater Games" in listed  # switch back to acme


def test_a_bad_organization_is_refused_naming_the_field(tenant, client_for):
    client = client_for(tenant.user("viewer"))
    taken = client.post("/orgs/", {"name": "Acme again", "slug": "acme"})
    assert taken.status_code == 409 and 'data-field="slug"' in taken.content.decode()
    empty = client.post("/orgs/", {"name": "", "slug": ""})
    assert empty.status_code == 422 and 'data-field="name"' in empty.content.decode()
    assert Organization.objects.count() == 1


def test_the_org_switcher_leads_to_the_organizations_page(tenant, client_for):
    assert 'href="/orgs/" data-testid="organizations-link"' in client_for(tenant.owner).get("/o/acme/").content.decode()


def test_the_organizations_page_needs_a_login(client):
    assert client.get("/orgs/").status_code == 302
