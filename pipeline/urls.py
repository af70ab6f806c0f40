from django.urls import path

from pipeline import views

urlpatterns = [
    path("personas/new/", views.persona_new, name="persona_new"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run_detail"),
]
