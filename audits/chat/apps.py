from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "audits.chat"
    label = "chat"
    verbose_name = "Audits: chat playground and drift"
