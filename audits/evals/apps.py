from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "audits.evals"
    label = "evals"
    verbose_name = "Audits: layered eval suites and the ship gate"
