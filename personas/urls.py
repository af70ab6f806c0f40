from django.urls import path

from personas import views

urlpatterns = [
    path("", views.persona_list, name="persona_list"),
    path("<uuid:persona_id>/", views.persona_detail, name="persona_detail"),
    path("<uuid:persona_id>/layers/<slug:layer>/", views.persona_layer_edit, name="persona_layer_edit"),
    path("<uuid:persona_id>/versions/diff/", views.persona_version_diff, name="persona_version_diff"),
    path("<uuid:persona_id>/versions/<int:number>/restore/", views.persona_version_restore_view, name="persona_version_restore"),
    path("<uuid:persona_id>/audit-card/", views.persona_audit_card, name="persona_audit_card"),
    path("<uuid:persona_id>/card/", views.persona_card_download, name="persona_card_download"),
]
