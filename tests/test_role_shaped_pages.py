"""Issue 18: roles shape the UI. Every org page, rendered for each role, offers only actions that role may take:
no form, button or htmx request on the page posts to an operation that answers the role with 403."""

import re
from html import unescape

import pytest
from django.db import transaction
from django.test import Client

from studio.roles import Role
from tests.test_outsider_scan import PUBLIC_PAGES, _fill, _page_routes, victim  # noqa: F401  (fixture)

ACTION = re.compile(r"""(?:\shx-(?:post|put|patch|delete)|<form\b[^>]*?\saction)=["']([^"']+)["']""", re.I)
FORM = re.compile(r"<form\b[^>]*>", re.I)
NOT_ACTIONS = {"/accounts/logout/"}  # everyone may log out


LINK = re.compile(r"""<a\b[^>]*?\shref=["'](/o/[^"'#]+)["']""", re.I)


def links_on(page: str) -> set[str]:
    return {unescape(href) for href in LINK.findall(page)}


def actions_on(page: str) -> set[str]:
    """Where the page's forms and htmx attributes send writes (GET forms, such as filters, are not actions)."""
    found = set()
    for tag in re.findall(r"<[a-z]+\b[^>]*>", page, re.I):
        if tag.lower().startswith("<form") and "hx-" not in tag and not re.search(r"method=[\"']post", tag, re.I):
            continue
        for target in ACTION.findall(tag):
            target = unescape(target).split("#", 1)[0]
            if target.startswith("/") and target.split("?", 1)[0] not in NOT_ACTIONS:
                found.add(target)
    return found


def get_pages(victim):  # noqa: F811
    for route in _page_routes():
        path, names = _fill(route, victim, r"<(?:\w+:)?(\w+)>")
        if route in PUBLIC_PAGES or not route.startswith("o/") or "invite/" in route:
            continue
        yield "/" + path


def refused(client: Client, target: str) -> int | None:
    """POST the target as this member and undo whatever it did; the status when it is a refusal (403)."""
    with transaction.atomic():
        response = client.post(target, HTTP_HX_REQUEST="true")
        transaction.set_rollback(True)
    return response.status_code if response.status_code == 403 else None


def test_actions_are_found_in_forms_and_htmx_attributes():
    page = ('<form method="post" action="/o/a/x/"></form><form action="/o/a/filter/"></form>'
            '<button hx-post="/o/a/y/?w=1">Go</button><form hx-get="/o/a/z/"></form>'
            '<form method="post" action="/accounts/logout/"></form>')
    assert actions_on(page) == {"/o/a/x/", "/o/a/y/?w=1"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER, Role.EDITOR, Role.ADMIN])
def test_no_page_offers_a_role_an_action_it_cannot_take(role, tenant, victim, client_for):  # noqa: F811
    client = client_for(tenant.user(role))
    offered, linked, problems, pages = {}, {}, [], 0
    for path in get_pages(victim):
        response = client.get(path)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        for target in actions_on(response.content.decode()):
            offered.setdefault(target, path)
        for target in links_on(response.content.decode()):
            linked.setdefault(target, path)
    for target, path in sorted(linked.items()):
        if client.get(target).status_code == 403:
            problems.append(f"{path} links to {target}, which answers the {role.value} with 403")
    for target, path in sorted(offered.items()):
        status = refused(client, target)
        if status:
            problems.append(f"{path} offers POST {target}, which answers the {role.value} with {status}")
    assert pages >= 30
    assert not problems, "\n".join(problems)


def nav_of(client) -> list[str]:
    page = client.get("/o/acme/").content.decode()
    nav = page[page.index('data-testid="mainnav"'):page.index("</nav>")]
    return re.findall(r">([^<>]+)</a>", nav)


def test_the_nav_shows_a_reviewer_their_work_and_not_config_training_or_datasets(tenant, client_for):
    nav = nav_of(client_for(tenant.user("reviewer")))
    assert {"Dashboard", "Personas", "Reviews", "Members"} <= set(nav)
    assert not {"Config", "Training", "Datasets", "API keys", "Providers", "Webhooks"} & set(nav)


def test_the_nav_shows_admin_pages_only_to_admins_and_owners(tenant, client_for):
    for role in ("viewer", "editor"):
        nav = nav_of(client_for(tenant.user(role)))
        assert {"Config", "Training", "Datasets"} <= set(nav) and not {"API keys", "Providers", "Webhooks"} & set(nav)
    for role in ("admin", "owner"):
        assert {"API keys", "Providers", "Webhooks", "Config"} <= set(nav_of(client_for(tenant.user(role))))


def test_the_current_area_is_marked_in_the_nav(tenant, client_for):
    page = client_for(tenant.owner).get("/o/acme/config/history/").content.decode()
    assert re.search(r'href="/o/acme/config/" aria-current="page">Config<', page)


@pytest.mark.parametrize("path, role", [("/o/acme/personas/new/", "reviewer"), ("/o/acme/personas/import/", "viewer"),
                                        ("/o/acme/training/new/", "reviewer"), ("/o/acme/training/unified/new/", "viewer")])
def test_a_form_page_for_what_the_role_cannot_do_says_so_instead_of_showing_the_form(path, role, tenant, client_for):
    response = client_for(tenant.user(role)).get(path)
    assert response.status_code == 403
    assert "<form" not in response.content.decode().split("<main>", 1)[1]
