from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "audits.evals"
    label = "evals"
    verbose_name = "Audits: layered eval suites and the ship gate"

    def ready(self):
        from audits.evals.judge import MARKER, judge_reply
        from studio.llm.offline.engine import register_offline_judge

        register_offline_judge(MARKER, judge_reply)
