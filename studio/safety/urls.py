from django.urls import path

from studio.safety import views

# These three pages are the safety floor's allow-list (middleware.ALLOWED_ORG_PAGES): keep them in step.
urlpatterns = [
    path("lockout/", views.lockout_summary, name="lockout_summary"),
    path("lockout/limits/", views.lockout_limits, name="lockout_limits"),
    path("support/", views.support, name="support"),
]
