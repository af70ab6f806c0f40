from django.urls import path

from audits.chat import views

urlpatterns = [
    path("personas/<uuid:persona_id>/chat/", views.persona_chat, name="persona_chat"),
    path("personas/<uuid:persona_id>/chat/send/", views.persona_chat_send, name="persona_chat_send"),
]
