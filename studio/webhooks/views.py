"""Pages for webhook endpoints (admins): list + create, and one endpoint with its settings and delivery log."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from studio.errors import StudioError
from studio.views import org_page, require_admin
from studio.webhooks import services
from studio.webhooks.access import access_delivery, access_endpoint
from studio.webhooks.events import EVENTS

DELIVERY_LOG_SIZE = 50


def _list_context(request, **extra) -> dict:
    return {"endpoints": request.principal.organization.webhook_endpoints.all(), "catalog": EVENTS, **extra}


def _endpoint_context(request, endpoint, **extra) -> dict:
    deliveries = endpoint.deliveries.prefetch_related("attempt_log")[:DELIVERY_LOG_SIZE]
    return {"endpoint": endpoint, "deliveries": deliveries, "catalog": EVENTS, **extra}


def _render_endpoint(request, endpoint, status=200, **extra):
    return render(request, "webhooks/partials/endpoint_panel.html", _endpoint_context(request, endpoint, **extra), status=status)


@org_page
@require_GET
def webhook_list(request):
    require_admin(request)
    return render(request, "webhooks/list.html", _list_context(request))


@org_page
@require_POST
def webhook_create(request):
    require_admin(request)
    form = {"url": request.POST.get("url", ""), "description": request.POST.get("description", ""), "events": request.POST.getlist("events")}
    try:
        issued = services.webhook_endpoint_create(organization=request.principal.organization, **form)
    except StudioError as exc:
        context = _list_context(request, form=form, form_error=exc)
        return render(request, "webhooks/partials/endpoints_panel.html", context, status=exc.status_code)
    return render(request, "webhooks/partials/endpoints_panel.html", _list_context(request, issued=issued))


@org_page
@require_GET
def webhook_detail(request, endpoint_id):
    require_admin(request)
    endpoint = access_endpoint(request.principal.organization, endpoint_id)
    return render(request, "webhooks/detail.html", _endpoint_context(request, endpoint))


@org_page
@require_POST
def webhook_update(request, endpoint_id):
    require_admin(request)
    endpoint = access_endpoint(request.principal.organization, endpoint_id)
    form = {
        "url": request.POST.get("url", ""), "description": request.POST.get("description", ""),
        "events": request.POST.getlist("events"), "active": request.POST.get("active") == "on",
    }
    try:
        services.webhook_endpoint_update(endpoint=endpoint, **form)
    except StudioError as exc:
        endpoint.refresh_from_db()
        return _render_endpoint(request, endpoint, status=exc.status_code, form=form, form_error=exc)
    return _render_endpoint(request, endpoint, saved=True)


@org_page
@require_POST
def webhook_rotate_secret(request, endpoint_id):
    require_admin(request)
    endpoint = access_endpoint(request.principal.organization, endpoint_id)
    return _render_endpoint(request, endpoint, secret=services.webhook_endpoint_rotate_secret(endpoint=endpoint))


@org_page
@require_POST
def webhook_test(request, endpoint_id):
    require_admin(request)
    endpoint = access_endpoint(request.principal.organization, endpoint_id)
    return _render_endpoint(request, endpoint, pinged=services.webhook_ping(endpoint=endpoint))


@org_page
@require_POST
def webhook_delete(request, endpoint_id):
    require_admin(request)
    endpoint = access_endpoint(request.principal.organization, endpoint_id)
    endpoint.delete()
    messages.info(request, f"Webhook endpoint {endpoint.url} deleted.")
    response = redirect("webhook_list", org_slug=request.principal.organization.slug)
    if request.htmx:
        response["HX-Redirect"] = response["Location"]
    return response


@org_page
@require_POST
def delivery_redeliver(request, delivery_id):
    require_admin(request)
    delivery = services.webhook_redeliver(delivery=access_delivery(request.principal.organization, delivery_id))
    return _render_endpoint(request, delivery.endpoint, redelivered=delivery)
