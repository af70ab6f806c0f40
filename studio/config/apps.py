from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "studio.config"
    label = "config"
    verbose_name = "Studio: org config tree"
