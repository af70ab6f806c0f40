from django.urls import path

from audits.chat import views

urlpatterns = [
    path("personas/<uuid:persona_id>/chat/", views.persona_chat, name="persona_chat"),
    path("personas/<uuid:persona_id>/chat/send/", views.persona_chat_send, name="persona_chat_send"),
    path("personas/<uuid:persona_id>/chat/sessions/<uuid:session_id>/rename/", views.chat_session_rename_view, name="chat_session_rename"),
    path("personas/<uuid:persona_id>/chat/sessions/<uuid:session_id>/delete/", views.chat_session_delete_view, name="chat_session_delete"),
]
