from django.urls import path

from studio.webhooks import views

urlpatterns = [
    path("", views.webhook_list, name="webhook_list"),
    path("new/", views.webhook_create, name="webhook_create"),
    path("<uuid:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
    path("<uuid:endpoint_id>/edit/", views.webhook_update, name="webhook_update"),
    path("<uuid:endpoint_id>/rotate-secret/", views.webhook_rotate_secret, name="webhook_rotate_secret"),
    path("<uuid:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("<uuid:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("deliveries/<uuid:delivery_id>/redeliver/", views.delivery_redeliver, name="webhook_redeliver"),
]
