"""Operator commands: create_org, add_member, create_api_key and the idempotent seed_demo."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from studio.models import ApiKey, Membership, Organization
from studio.roles import Role
from tests.conftest import PASSWORD, ApiClient

User = get_user_model()



def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(*args) -> str:
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    return str(excinfo.value)


# --- create_org ---------------------------------------------------------------------


def test_create_org_makes_an_org_with_a_default_workspace(db):
    out, _ = run("create_org", "--name", "Initech", "--slug", "initech")

    org = Organization.objects.get(slug="initech")
    assert org.name == "Initech"
    assert f"created organization initech ({org.public_id})" in out
    assert list(org.workspaces.values_list("slug", flat=True)) == ["default"]
    assert not org.memberships.exists()


def test_create_org_derives_the_slug_from_the_name(db):
    run("create_org", "--name", "Umbrella Corp")

    assert Organization.objects.filter(slug="umbrella-corp").exists()


def test_create_org_makes_an_existing_user_the_owner(tenant):
    run("create_org", "--name", "Initech", "--owner-email", "EDITOR@acme.test")

    membership = Membership.objects.get(organization__slug="initech")
    assert membership.user == tenant.user("editor")
    assert membership.role == Role.OWNER


def test_create_org_refuses_a_taken_slug(tenant):
    message = fails("create_org", "--name", "Acme Again", "--slug", "acme")

    assert message == "an organization with slug 'acme' already exists"
    assert Organization.objects.filter(slug="acme").count() == 1


def test_create_org_refuses_an_unknown_owner(db):
    message = fails("create_org", "--name", "Initech", "--owner-email", "nobody@nowhere.test")

    assert "no user with email nobody@nowhere.test" in message
    assert not Organization.objects.exists()


def test_create_org_refuses_a_name_without_letters_or_digits(db):
    assert fails("create_org", "--name", "!!!") == "slug must contain letters or digits"


def test_create_org_requires_a_name(db):
    assert "--name" in fails("create_org")


# --- add_member ---------------------------------------------------------------------


def test_add_member_creates_the_user_and_prints_a_working_password(tenant):
    out, _ = run("add_member", "--org", "acme", "--email", "new@acme.test", "--role", "editor")

    password = re.search(r"created user new@acme.test with password: (\S+)", out).group(1)
    assert "new@acme.test is editor of acme" in out
    assert Membership.objects.get(organization=tenant.org, user__email="new@acme.test").role == Role.EDITOR
    client = Client()
    assert client.login(username="new@acme.test", password=password)
    assert client.get("/o/acme/").status_code == 200


def test_add_member_uses_a_given_password(tenant):
    out, _ = run("add_member", "--org", "acme", "--email", "new@acme.test", "--password", "chosen-by-operator-1")

    assert "new@acme.test is viewer of acme" in out
    assert Client().login(username="new@acme.test", password="chosen-by-operator-1")


def test_add_member_adds_an_existing_user_without_touching_their_password(tenant, outsider):
    out, _ = run("add_member", "--org", "acme", "--email", "outsider@globex.test", "--role", "reviewer")

    assert "password" not in out
    assert "outsider@globex.test is reviewer of acme" in out
    outsider.refresh_from_db()
    assert outsider.check_password(PASSWORD)
    assert Membership.objects.filter(user=outsider).count() == 2


def test_add_member_changes_the_role_of_an_existing_member(tenant):
    out, _ = run("add_member", "--org", "acme", "--email", "viewer@acme.test", "--role", "admin")

    assert "viewer@acme.test is admin of acme" in out
    assert tenant.membership("viewer").role == Role.ADMIN


def test_add_member_refuses_to_demote_the_last_owner(tenant):
    message = fails("add_member", "--org", "acme", "--email", "owner@acme.test", "--role", "viewer")

    assert "last owner" in message
    assert tenant.membership("owner").role == Role.OWNER


def test_add_member_may_demote_an_owner_when_another_remains(tenant):
    run("add_member", "--org", "acme", "--email", "admin@acme.test", "--role", "owner")

    run("add_member", "--org", "acme", "--email", "owner@acme.test", "--role", "admin")

    assert tenant.membership("owner").role == Role.ADMIN
    assert tenant.membership("admin").role == Role.OWNER


def test_add_member_refuses_an_unknown_org(db):
    assert fails("add_member", "--org", "nowhere", "--email", "a@b.test") == "no organization with slug 'nowhere'"
    assert not User.objects.exists()


def test_add_member_refuses_an_unknown_role(tenant):
    message = fails("add_member", "--org", "acme", "--email", "new@acme.test", "--role", "emperor")

    assert "invalid choice: 'emperor'" in message
    assert not User.objects.filter(email="new@acme.test").exists()


def test_add_member_refuses_an_invalid_email(tenant):
    message = fails("add_member", "--org", "acme", "--email", "not-an-email")

    assert message == "'not-an-email' is not a valid email address"
    assert not User.objects.filter(username="not-an-email").exists()


# --- create_api_key -----------------------------------------------------------------


def test_create_api_key_prints_a_working_key_once(tenant):
    out, err = run("create_api_key", "--org", "acme", "--scopes", "personas:read", "config:read", "--name", "ci")

    secret = out.strip()
    assert secret.startswith(ApiKey.PREFIX)
    assert "shown once" in err
    assert secret not in err
    response = ApiClient(secret).get("/v1/org")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert response.json()["scopes"] == ["config:read", "personas:read"]
    api_key = ApiKey.objects.get(name="ci")
    assert api_key.key_hash == ApiKey.hash_secret(secret)
    assert str(api_key.public_id) in err


def test_create_api_key_accepts_comma_separated_scopes(tenant):
    out, _ = run("create_api_key", "--org", "acme", "--scopes", "personas:read,config:admin")

    assert sorted(ApiClient(out.strip()).get("/v1/org").json()["scopes"]) == ["config:admin", "personas:read"]


def test_create_api_key_refuses_an_unknown_scope(tenant):
    message = fails("create_api_key", "--org", "acme", "--scopes", "personas:read", "root")

    assert message.startswith("unknown scope(s): root")
    assert not ApiKey.objects.exists()


def test_create_api_key_refuses_an_unknown_org(db):
    assert fails("create_api_key", "--org", "nowhere", "--scopes", "personas:read") == "no organization with slug 'nowhere'"


def test_create_api_key_requires_scopes(tenant):
    assert "--scopes" in fails("create_api_key", "--org", "acme")
    assert fails("create_api_key", "--org", "acme", "--scopes", ",") == "scopes must name at least one scope"


# --- seed_demo ----------------------------------------------------------------------


@pytest.fixture
def var_dir(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def printed_login(out: str) -> tuple[str, str]:
    match = re.search(r"Log in as\s+(\S+)\s+/\s+(\S+)", out)
    assert match, out
    return match.group(1), match.group(2)


def test_seed_demo_is_idempotent_and_prints_the_same_login_each_time(var_dir):
    first, _ = run("seed_demo")
    second, _ = run("seed_demo")

    assert printed_login(first) == printed_login(second)
    assert Organization.objects.count() == 1
    assert User.objects.count() == 1
    org = Organization.objects.get()
    assert org.slug == "demo"
    assert org.workspaces.count() == 1
    assert Membership.objects.get().role == Role.OWNER


def test_the_seeded_login_works_in_the_browser(var_dir):
    username, password = printed_login(run("seed_demo")[0])

    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password}, follow=True)

    assert response.redirect_chain[-1][0] == "/o/demo/"
    assert "Demo Studio" in response.content.decode()


def test_seed_demo_keeps_its_password_private(var_dir):
    run("seed_demo")

    assert (var_dir / "demo_admin_password").stat().st_mode & 0o077 == 0


def test_seed_demo_resets_the_password_when_asked(var_dir):
    run("seed_demo")

    out, _ = run("seed_demo", "--password", "operator-chosen-77")

    assert printed_login(out) == ("admin", "operator-chosen-77")
    assert Client().login(username="admin", password="operator-chosen-77")
    assert printed_login(run("seed_demo")[0])[1] == "operator-chosen-77"


def test_add_member_refuses_an_email_already_used_as_another_users_name(tenant):
    User.objects.create_user(username="taken@acme.test", email="renamed@elsewhere.test")

    message = fails("add_member", "--org", "acme", "--email", "taken@acme.test")

    assert message == "a user named taken@acme.test exists with another email address"
    assert not Membership.objects.filter(organization=tenant.org, user__username="taken@acme.test").exists()
