from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "studio.safety"
    label = "safety"
    verbose_name = "Studio: safety floor (lockouts)"
