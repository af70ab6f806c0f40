"""Pages for the org: dashboard, members, API keys, provider credentials, invitation links."""

import time
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio import services
from studio.dashboard import cards as dashboard_cards
from studio.access import access_api_key, access_invitation, access_member, access_membership
from studio.api_auth import SESSION_ORG_KEY
from studio.errors import NotFound, StudioError
from studio.models import Membership
from studio.principal import Principal
from studio.roles import ROLE_CHOICES, SCOPES, Role
from studio.tasks import worker_ping
from studio.tenancy_api import invite_and_email


def org_page(view):
    """Resolve /o/<org_slug>/ to the user's membership (404 for outsiders) and set request.principal."""

    @login_required
    @wraps(view)
    def wrapper(request, org_slug, *args, **kwargs):
        try:
            membership = access_membership(request.user, org_slug)
        except NotFound:
            raise Http404("organization not found") from None
        request.principal = Principal.from_membership(membership)
        if request.session.get(SESSION_ORG_KEY) != org_slug:
            request.session[SESSION_ORG_KEY] = org_slug
        return view(request, *args, **kwargs)

    return wrapper


def require_admin(request) -> None:
    request.principal.require_scope("config:admin")


@require_GET
def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    current = request.session.get(SESSION_ORG_KEY)
    chosen = next((m for m in memberships if m.organization.slug == current), None) or memberships.first()
    if chosen is None:
        return render(request, "studio/no_org.html")
    return redirect("dashboard", org_slug=chosen.organization.slug)


@login_required
@require_http_methods(["GET", "POST"])
def organizations(request):
    """The user's organizations, to switch between, and a form to create one (its creator is its owner)."""
    context = {"name": request.POST.get("name", ""), "slug": request.POST.get("slug", "")}
    status = 200
    if request.method == "POST":
        try:
            with transaction.atomic():
                org = services.org_create(name=context["name"], slug=context["slug"], owner=request.user)
        except StudioError as exc:
            context["error"], status = exc, exc.status_code
        else:
            request.session[SESSION_ORG_KEY] = org.slug
            messages.success(request, f"Organization “{org.name}” created: you are its owner.")
            return redirect("dashboard", org_slug=org.slug)
    memberships = Membership.objects.filter(user=request.user).select_related("organization").order_by("organization__name")
    context["memberships"] = memberships
    context["current_slug"] = request.session.get(SESSION_ORG_KEY)
    return render(request, "studio/organizations.html", context, status=status)


@org_page
@require_GET
def dashboard(request):
    org = request.principal.organization
    return render(
        request,
        "studio/dashboard.html",
        {
            "workspaces": org.workspaces.all(),
            "member_count": org.memberships.count(),
            "active_key_count": org.api_keys.filter(revoked_at=None).count(),
            "llm_online": services.org_has_llm_credentials(organization=org),
            "database_vendor": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "cards": dashboard_cards(org),
        },
    )


@org_page
@require_POST
def workspace_create(request):
    require_admin(request)
    try:
        workspace = services.workspace_create(
            organization=request.principal.organization, name=request.POST.get("name", ""), slug=request.POST.get("slug", "")
        )
        messages.success(request, f"Workspace “{workspace.name}” created.")
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard", org_slug=request.principal.organization.slug)


@org_page
@require_POST
def worker_check(request):
    org = request.principal.organization
    requested_at = time.time()
    transaction.on_commit(lambda: worker_ping.delay(organization_id=str(org.public_id), requested_at=requested_at))
    return render(request, "studio/partials/worker_waiting.html")


# --- members ------------------------------------------------------------------------


def _members_context(request) -> dict:
    org = request.principal.organization
    return {
        "members": org.memberships.select_related("user").order_by("user__email"),
        "invitations": [i for i in org.invitations.all() if i.is_pending] if request.principal.has_scope("config:admin") else [],
        "role_choices": ROLE_CHOICES,
        "owner_count": org.memberships.owners().count(),
    }


@org_page
@require_GET
def members(request):
    return render(request, "studio/members.html", _members_context(request))


@org_page
@require_POST
def member_invite(request):
    require_admin(request)
    email, role = request.POST.get("email", ""), request.POST.get("role", Role.VIEWER)
    context = {"invite_email": email, "invite_role": role}
    try:
        invitation = invite_and_email(request, actor=request.principal, email=email, role=role)
        context = {"invited": invitation}
        status = 200
    except StudioError as exc:
        context["invite_error"] = exc
        status = exc.status_code
    return render(request, "studio/partials/members_panel.html", {**_members_context(request), **context}, status=status)


@org_page
@require_POST
def member_role(request, member_id):
    require_admin(request)
    member = access_member(request.principal.organization, member_id)
    context = {}
    status = 200
    try:
        services.member_set_role(actor=request.principal, member=member, role=request.POST.get("role", ""))
    except StudioError as exc:
        context["row_error"] = {"member_id": member.public_id, "message": exc.message}
        status = exc.status_code
    return render(request, "studio/partials/members_panel.html", {**_members_context(request), **context}, status=status)


@org_page
@require_POST
def member_remove(request, member_id):
    member = access_member(request.principal.organization, member_id)
    leaving = member.user_id == request.user.pk
    if not leaving:
        require_admin(request)
    try:
        services.member_remove(actor=request.principal, member=member)
    except StudioError as exc:
        return render(
            request,
            "studio/partials/members_panel.html",
            {**_members_context(request), "row_error": {"member_id": member.public_id, "message": exc.message}},
            status=exc.status_code,
        )
    if leaving:
        request.session.pop(SESSION_ORG_KEY, None)
        messages.info(request, f"You left {member.organization.name}.")
        response = redirect("home")
        if request.htmx:
            response["HX-Redirect"] = response["Location"]
        return response
    return render(request, "studio/partials/members_panel.html", _members_context(request))


@org_page
@require_POST
def invitation_revoke(request, invitation_id):
    require_admin(request)
    invitation = access_invitation(request.principal.organization, invitation_id)
    services.invitation_revoke(actor=request.principal, invitation=invitation)
    return render(request, "studio/partials/members_panel.html", _members_context(request))


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """The link from the invitation email: set a password (new account) or join as the signed-in user."""
    invitation = services.invitation_for_token(token)  # NotFound → 404 page
    error = None
    if request.method == "POST":
        try:
            user = request.user if request.user.is_authenticated else None
            membership = services.invitation_accept(invitation=invitation, user=user, password=request.POST.get("password", ""))
        except StudioError as exc:
            error = exc
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("dashboard", org_slug=membership.organization.slug)
    return render(
        request,
        "studio/invitation_accept.html",
        {"invitation": invitation, "error": error},
        status=error.status_code if error else 200,
    )


# --- API keys -----------------------------------------------------------------------


def _api_keys_context(request) -> dict:
    return {
        "api_keys": request.principal.organization.api_keys.select_related("created_by"),
        "scopes": SCOPES,
    }


@org_page
@require_GET
def api_keys(request):
    require_admin(request)
    return render(request, "studio/api_keys.html", _api_keys_context(request))


@org_page
@require_POST
def api_key_create(request):
    require_admin(request)
    name, scopes = request.POST.get("name", ""), request.POST.getlist("scopes")
    context = _api_keys_context(request)
    try:
        issued = services.api_key_create(
            organization=request.principal.organization, name=name, scopes=scopes,
            granted_by=request.principal.scopes, created_by=request.user,
        )
    except StudioError as exc:
        context.update(key_error=exc, key_name=name, key_scopes=scopes)
        return render(request, "studio/partials/api_keys_panel.html", context, status=exc.status_code)
    context["issued"] = issued
    return render(request, "studio/partials/api_keys_panel.html", context)


@org_page
@require_POST
def api_key_revoke(request, key_id):
    require_admin(request)
    services.api_key_revoke(api_key=access_api_key(request.principal.organization, key_id))
    return render(request, "studio/partials/api_keys_panel.html", _api_keys_context(request))


# --- provider credentials -------------------------------------------------------------


def _credentials_context(request, **extra) -> dict:
    return {"statuses": services.credential_statuses(organization=request.principal.organization), **extra}


@org_page
@require_GET
def credentials(request):
    require_admin(request)
    return render(request, "studio/credentials.html", _credentials_context(request))


@org_page
@require_POST
def credential_set(request, provider):
    require_admin(request)
    try:
        services.credential_set(
            organization=request.principal.organization, provider=provider,
            api_key=request.POST.get("api_key", ""), api_base=request.POST.get("api_base", ""), user=request.user,
        )
    except StudioError as exc:
        if isinstance(exc, NotFound):
            raise
        context = _credentials_context(request, error={"provider": provider, "field": exc.field, "message": exc.message})
        return render(request, "studio/partials/credentials_panel.html", context, status=exc.status_code)
    return render(request, "studio/partials/credentials_panel.html", _credentials_context(request, saved=provider))


@org_page
@require_POST
def credential_clear(request, provider):
    require_admin(request)
    services.credential_clear(organization=request.principal.organization, provider=provider)
    return render(request, "studio/partials/credentials_panel.html", _credentials_context(request, cleared=provider))
