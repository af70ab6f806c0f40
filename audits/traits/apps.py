from django.apps import AppConfig


class TraitsConfig(AppConfig):
    name = "audits.traits"
    label = "traits"
    verbose_name = "Audits: trait profiles by revealed preference"

    def ready(self):
        from audits.traits.judge import JUDGE_MARKER, offline_adopt, offline_judge_reply
        from studio.llm.offline.engine import register_offline_judge, register_offline_responder

        register_offline_judge(JUDGE_MARKER, offline_judge_reply)
        register_offline_responder("trait-profile", offline_adopt)
