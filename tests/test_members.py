"""Members: invitations by email, role changes, removal, leaving, and the last-owner rule (pages and API)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from studio import services
from studio.models import Invitation, Membership
from studio.principal import Principal
from studio.roles import Role
from tests.conftest import SessionApi, PASSWORD, login_client

NEW_PASSWORD = "violet-kettle-orbit-42"




def invite_link(message) -> str:
    match = re.search(r"http://testserver(/invite/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def page_invite(client, email, role, org_slug="acme"):
    return client.post(f"/o/{org_slug}/members/invite/", {"email": email, "role": role}, HTTP_HX_REQUEST="true")


def role_of(org, email):
    return Membership.objects.get(organization=org, user__email=email).role


@pytest.fixture
def invited(tenant, client_for, django_capture_on_commit_callbacks):
    """An admin invites new@acme.test as an editor from the members page; returns the link path."""
    with django_capture_on_commit_callbacks(execute=True):
        response = page_invite(client_for(tenant.user("admin")), "new@acme.test", "editor")
    assert response.status_code == 200
    return invite_link(mail.outbox[-1])


# --- inviting -----------------------------------------------------------------------


def test_it_emails_a_set_password_link_when_an_admin_invites_from_the_page(tenant, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = page_invite(client_for(tenant.user("admin")), "New@Acme.test", "reviewer")

    assert response.status_code == 200
    assert "Invitation sent to new@acme.test as reviewer" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@acme.test"]
    assert "Acme" in message.subject
    assert "as reviewer" in message.body
    assert invite_link(message).startswith("/invite/")


def test_it_emails_a_set_password_link_when_a_key_invites_through_the_api(tenant, api_for, django_capture_on_commit_callbacks):
    api = api_for(tenant.org, scopes=["config:admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/v1/invitations", json={"email": "new@acme.test", "role": "editor"})

    assert response.status_code == 201
    assert response.json()["email"] == "new@acme.test"
    assert response.json()["role"] == "editor"
    assert response.json()["pending"] is True
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@acme.test"]
    assert invite_link(mail.outbox[0]).startswith("/invite/")


def test_it_sends_no_email_when_the_invitation_is_refused(tenant, api_for, django_capture_on_commit_callbacks):
    api = api_for(tenant.org, scopes=["config:admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/v1/invitations", json={"email": "not an email", "role": "editor"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["email"]
    assert mail.outbox == []


def test_it_refuses_to_invite_someone_who_is_already_a_member(tenant, api_for):
    response = api_for(tenant.org).post("/v1/invitations", json={"email": "editor@acme.test", "role": "viewer"})

    assert response.status_code == 409
    assert "already a member" in response.json()["detail"][0]["msg"]


def test_it_refuses_an_unknown_role_naming_the_role_field(tenant, api_for):
    response = api_for(tenant.org).post("/v1/invitations", json={"email": "new@acme.test", "role": "emperor"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["role"]


def test_it_shows_the_invite_error_beside_the_form_on_the_page(tenant, client_for):
    response = page_invite(client_for(tenant.user("admin")), "nope", "viewer")

    assert response.status_code == 422
    assert 'data-field="email"' in response.content.decode()
    assert "email is not a valid address" in response.content.decode()


def test_a_new_invitation_replaces_the_pending_one_for_the_same_address(tenant, api_for, client, django_capture_on_commit_callbacks):
    api = api_for(tenant.org)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/v1/invitations", json={"email": "new@acme.test", "role": "viewer"})
        api.post("/v1/invitations", json={"email": "new@acme.test", "role": "editor"})
    first, second = (invite_link(m) for m in mail.outbox)

    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


# --- accepting ----------------------------------------------------------------------


def test_following_the_link_and_setting_a_password_creates_the_user_and_logs_them_in(tenant, client, invited):
    page = client.get(invited)
    assert page.status_code == 200
    assert "You are invited as <strong>editor</strong>" in page.content.decode()

    response = client.post(invited, {"password": NEW_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/o/acme/"
    user = get_user_model().objects.get(email="new@acme.test")
    assert user.check_password(NEW_PASSWORD)
    assert role_of(tenant.org, "new@acme.test") == Role.EDITOR
    dashboard = client.get("/o/acme/")
    assert dashboard.status_code == 200
    assert "Welcome to Acme." in dashboard.content.decode()
    assert "you are editor" in dashboard.content.decode()


def test_the_invitation_link_works_only_once(client, invited):
    client.post(invited, {"password": NEW_PASSWORD})
    client.logout()

    assert client.get(invited).status_code == 404
    assert client.post(invited, {"password": NEW_PASSWORD}).status_code == 404


def test_a_revoked_invitation_link_is_not_found(tenant, api_for, client, invited):
    invitation = Invitation.objects.get(email="new@acme.test")

    assert api_for(tenant.org).delete(f"/v1/invitations/{invitation.public_id}").status_code == 204
    assert client.get(invited).status_code == 404
    assert not Membership.objects.filter(user__email="new@acme.test").exists()


def test_an_admin_revokes_an_invitation_from_the_members_page(tenant, client_for, client, invited):
    invitation = Invitation.objects.get(email="new@acme.test")
    admin = client_for(tenant.user("admin"))
    assert "new@acme.test" in admin.get("/o/acme/members/").content.decode()

    response = admin.post(f"/o/acme/invitations/{invitation.public_id}/revoke/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "new@acme.test" not in response.content.decode()
    assert client.get(invited).status_code == 404


def test_an_expired_invitation_link_is_not_found(client, invited):
    Invitation.objects.filter(email="new@acme.test").update(created_at=timezone.now() - Invitation.VALID_FOR - timedelta(minutes=1))

    assert client.get(invited).status_code == 404


def test_a_made_up_invitation_token_is_not_found(db, client):
    assert client.get("/invite/not-a-real-token/").status_code == 404


def test_a_weak_password_is_refused_with_the_reason_shown(client, invited):
    response = client.post(invited, {"password": "short"})

    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-field="password"' in body
    assert "too short" in body
    assert not get_user_model().objects.filter(email="new@acme.test").exists()
    assert client.get(invited).status_code == 200  # still usable


def test_a_signed_in_existing_user_accepts_and_keeps_their_other_orgs(tenant, outsider, api_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_for(tenant.org).post("/v1/invitations", json={"email": "outsider@globex.test", "role": "reviewer"})
    link = invite_link(mail.outbox[0])
    client = login_client(outsider)

    page = client.get(link)
    assert "You are signed in as outsider@globex.test" in page.content.decode()
    response = client.post(link)

    assert response.status_code == 302
    assert role_of(tenant.org, "outsider@globex.test") == Role.REVIEWER
    assert Membership.objects.filter(user=outsider).count() == 2
    assert outsider.check_password(PASSWORD)


def test_an_existing_user_who_is_not_signed_in_is_asked_to_log_in(tenant, outsider, api_for, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_for(tenant.org).post("/v1/invitations", json={"email": "outsider@globex.test", "role": "reviewer"})

    response = client.post(invite_link(mail.outbox[0]), {"password": NEW_PASSWORD})

    assert response.status_code == 409
    assert "log in to accept" in response.content.decode()
    assert not Membership.objects.filter(organization=tenant.org, user=outsider).exists()


def test_someone_signed_in_as_another_address_cannot_accept(tenant, outsider, client_for, invited):
    response = client_for(outsider).post(invited)

    assert response.status_code == 403
    assert "this invitation is for new@acme.test" in response.content.decode()
    assert not Membership.objects.filter(organization=tenant.org, user=outsider).exists()


# --- changing roles -----------------------------------------------------------------


def test_an_admin_changes_a_role_from_the_members_page(tenant, client_for):
    editor = tenant.membership("editor")

    response = client_for(tenant.user("admin")).post(
        f"/o/acme/members/{editor.public_id}/role/", {"role": "reviewer"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert 'id="members-panel"' in response.content.decode()
    assert role_of(tenant.org, "editor@acme.test") == Role.REVIEWER


def test_an_admin_changes_a_role_through_the_api(tenant, api_for):
    editor = tenant.membership("editor")

    response = api_for(tenant.org, scopes=["config:admin"]).patch(f"/v1/members/{editor.public_id}", json={"role": "viewer"})

    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert response.json()["email"] == "editor@acme.test"
    assert role_of(tenant.org, "editor@acme.test") == Role.VIEWER


def test_it_refuses_an_unknown_role_when_changing_one(tenant, api_for):
    editor = tenant.membership("editor")

    response = api_for(tenant.org).patch(f"/v1/members/{editor.public_id}", json={"role": "superuser"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["role"]
    assert role_of(tenant.org, "editor@acme.test") == Role.EDITOR


def test_only_an_owner_makes_someone_an_owner(tenant):
    editor = tenant.membership("editor")

    as_admin = SessionApi(tenant.user("admin")).patch(f"/v1/members/{editor.public_id}", json={"role": "owner"})
    assert as_admin.status_code == 403
    assert "only an owner" in as_admin.json()["detail"]

    as_owner = SessionApi(tenant.owner).patch(f"/v1/members/{editor.public_id}", json={"role": "owner"})
    assert as_owner.status_code == 200
    assert role_of(tenant.org, "editor@acme.test") == Role.OWNER


def test_an_admin_cannot_invite_an_owner(tenant):
    response = SessionApi(tenant.user("admin")).post("/v1/invitations", json={"email": "boss@acme.test", "role": "owner"})

    assert response.status_code == 403
    assert "only an owner" in response.json()["detail"]
    assert not Invitation.objects.filter(email="boss@acme.test").exists()


def test_an_owner_invites_an_owner(tenant, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = SessionApi(tenant.owner).post("/v1/invitations", json={"email": "boss@acme.test", "role": "owner"})
    assert response.status_code == 201

    client.post(invite_link(mail.outbox[0]), {"password": NEW_PASSWORD})

    assert role_of(tenant.org, "boss@acme.test") == Role.OWNER


def test_an_api_key_cannot_grant_owner(tenant, api_for):
    editor = tenant.membership("editor")

    response = api_for(tenant.org).patch(f"/v1/members/{editor.public_id}", json={"role": "owner"})

    assert response.status_code == 403
    assert role_of(tenant.org, "editor@acme.test") == Role.EDITOR


def test_an_admin_cannot_change_an_owners_role(tenant, client_for):
    services.member_set_role(actor=Principal.from_membership(tenant.membership("owner")), member=tenant.membership("editor"), role="owner")
    owner = tenant.membership("owner")

    api = SessionApi(tenant.user("admin")).patch(f"/v1/members/{owner.public_id}", json={"role": "viewer"})
    page = client_for(tenant.user("admin")).post(f"/o/acme/members/{owner.public_id}/role/", {"role": "viewer"})

    assert api.status_code == 403
    assert page.status_code == 403
    assert "only an owner can change an owner" in page.content.decode()
    assert role_of(tenant.org, "owner@acme.test") == Role.OWNER


def test_the_role_select_offers_owner_only_to_owners(tenant, client_for):
    def offers_owner(role):
        body = client_for(tenant.user(role)).get("/o/acme/members/").content.decode()
        return 'option value="owner"' in body.split("Invite someone")[1].split("</form>")[0]

    assert offers_owner("owner")
    assert not offers_owner("admin")


# --- the last owner -----------------------------------------------------------------


def test_it_refuses_to_demote_the_last_owner_through_the_api(tenant):
    owner = tenant.membership("owner")

    response = SessionApi(tenant.owner).patch(f"/v1/members/{owner.public_id}", json={"role": "admin"})

    assert response.status_code == 409
    assert "last owner" in response.json()["detail"][0]["msg"]
    assert role_of(tenant.org, "owner@acme.test") == Role.OWNER


def test_it_refuses_to_demote_the_last_owner_on_the_page(tenant, client_for):
    owner = tenant.membership("owner")

    response = client_for(tenant.owner).post(f"/o/acme/members/{owner.public_id}/role/", {"role": "admin"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 409
    assert "the last owner cannot be demoted" in response.content.decode()
    assert role_of(tenant.org, "owner@acme.test") == Role.OWNER


def test_it_refuses_to_remove_the_last_owner_through_the_api(tenant):
    owner = tenant.membership("owner")

    response = SessionApi(tenant.owner).delete(f"/v1/members/{owner.public_id}")

    assert response.status_code == 409
    assert "last owner" in response.json()["detail"]
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_it_refuses_to_let_the_last_owner_leave_on_the_page(tenant, client_for):
    owner = tenant.membership("owner")

    response = client_for(tenant.owner).post(f"/o/acme/members/{owner.public_id}/remove/", HTTP_HX_REQUEST="true")

    assert response.status_code == 409
    assert "the last owner cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_an_owner_may_step_down_once_there_is_another_owner(tenant):
    owner_api = SessionApi(tenant.owner)
    admin = tenant.membership("admin")
    owner = tenant.membership("owner")

    assert owner_api.patch(f"/v1/members/{admin.public_id}", json={"role": "owner"}).status_code == 200
    response = owner_api.patch(f"/v1/members/{owner.public_id}", json={"role": "admin"})

    assert response.status_code == 200
    assert list(Membership.objects.filter(organization=tenant.org).owners().values_list("user__email", flat=True)) == ["admin@acme.test"]


# --- removing and leaving -----------------------------------------------------------


def test_an_admin_removes_a_member_from_the_page(tenant, client_for):
    viewer = tenant.membership("viewer")

    response = client_for(tenant.user("admin")).post(f"/o/acme/members/{viewer.public_id}/remove/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "<td>viewer@acme.test</td>" not in response.content.decode()
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert client_for(tenant.user("viewer")).get("/o/acme/").status_code == 404


def test_an_admin_removes_a_member_through_the_api(tenant, api_for):
    viewer = tenant.membership("viewer")

    response = api_for(tenant.org, scopes=["config:admin"]).delete(f"/v1/members/{viewer.public_id}")

    assert response.status_code == 204
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_an_admin_cannot_remove_an_owner(tenant, client_for):
    owner = tenant.membership("owner")

    response = client_for(tenant.user("admin")).post(f"/o/acme/members/{owner.public_id}/remove/", HTTP_HX_REQUEST="true")

    assert response.status_code == 403
    assert "only an owner can remove an owner" in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_a_member_leaves_from_the_page_and_is_sent_home(tenant, client_for):
    viewer = tenant.membership("viewer")
    client = client_for(tenant.user("viewer"))
    client.get("/o/acme/")

    response = client.post(f"/o/acme/members/{viewer.public_id}/remove/", HTTP_HX_REQUEST="true")

    assert response.status_code == 302
    assert response["HX-Redirect"] == "/"
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    home = client.get("/", follow=True)
    assert "You left Acme." in home.content.decode()
    assert "No organization yet" in home.content.decode()


def test_a_member_leaves_through_the_api(tenant):
    reviewer = tenant.membership("reviewer")

    response = SessionApi(tenant.user("reviewer")).delete(f"/v1/members/{reviewer.public_id}")

    assert response.status_code == 204
    assert not Membership.objects.filter(pk=reviewer.pk).exists()


def test_removing_a_member_of_another_org_is_not_found(tenant, outsider_tenant, client_for, api_for):
    foreign = outsider_tenant.membership("owner")

    page = client_for(tenant.user("admin")).post(f"/o/acme/members/{foreign.public_id}/remove/")
    api = api_for(tenant.org).delete(f"/v1/members/{foreign.public_id}")

    assert page.status_code == 404
    assert api.status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


# --- who may manage members ---------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_members_below_admin_cannot_manage_members_on_the_page(tenant, client_for, role):
    client = client_for(tenant.user(role))
    other = tenant.membership("viewer" if role != "viewer" else "reviewer")

    responses = [
        client.post("/o/acme/members/invite/", {"email": "new@acme.test", "role": "viewer"}),
        client.post(f"/o/acme/members/{other.public_id}/role/", {"role": "editor"}),
        client.post(f"/o/acme/members/{other.public_id}/remove/"),
    ]

    for response in responses:
        assert response.status_code == 403
        assert f"the {role} role" in response.content.decode()
        assert "config:admin" in response.content.decode()
    assert Membership.objects.filter(pk=other.pk, role=other.role).exists()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_members_below_admin_cannot_manage_members_through_the_api(tenant, role):
    api = SessionApi(tenant.user(role))
    other = tenant.membership("viewer" if role != "viewer" else "reviewer")

    responses = [
        api.post("/v1/invitations", json={"email": "new@acme.test", "role": "viewer"}),
        api.patch(f"/v1/members/{other.public_id}", json={"role": "editor"}),
        api.delete(f"/v1/members/{other.public_id}"),
    ]

    for response in responses:
        assert response.status_code == 403
        assert response.json()["detail"] == f"this action needs the 'config:admin' scope, which the {role} role does not have"
    assert Membership.objects.filter(pk=other.pk, role=other.role).exists()


def test_a_key_without_config_admin_cannot_manage_members(tenant, api_for):
    api = api_for(tenant.org, scopes=["personas:write", "config:write"])
    viewer = tenant.membership("viewer")

    response = api.patch(f"/v1/members/{viewer.public_id}", json={"role": "editor"})

    assert response.status_code == 403
    assert response.json()["detail"] == "this action needs the 'config:admin' scope, which this API key does not have"


def test_viewers_see_the_member_list_without_controls(tenant, client_for):
    response = client_for(tenant.user("viewer")).get("/o/acme/members/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "owner@acme.test" in body and "editor@acme.test" in body
    assert "Invite someone" not in body
    assert "/role/" not in body
    assert body.count(">Remove</button>") == 0
    assert body.count(">Leave</button>") == 1


def test_any_member_lists_members_through_the_api(tenant, api_for):
    response = api_for(tenant.org, scopes=["personas:read"]).get("/v1/members")

    assert response.status_code == 200
    assert sorted(m["email"] for m in response.json()["items"]) == sorted(f"{r.value}@acme.test" for r in Role)



def test_an_address_already_used_as_a_username_cannot_make_a_second_account(tenant, client, invited):
    get_user_model().objects.create_user(username="new@acme.test", email="renamed@elsewhere.test", password=PASSWORD)

    response = client.post(invited, {"password": NEW_PASSWORD})

    assert response.status_code == 409
    assert "log in to accept" in response.content.decode()
    assert not Membership.objects.filter(organization=tenant.org, user__username="new@acme.test").exists()
