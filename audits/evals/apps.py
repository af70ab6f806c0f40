from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "audits.evals"
    label = "evals"
    verbose_name = "Audits: layered eval suites and the ship gate"

    def ready(self):
        from audits.evals.conversation import offline_user_reply
        from audits.evals.judge import MARKER, judge_reply
        from studio.llm.offline.engine import register_offline_judge, register_offline_responder

        register_offline_judge(MARKER, judge_reply)
        register_offline_responder("evals.simulated_user", offline_user_reply)  # long conversations' simulated user
