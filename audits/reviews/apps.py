from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "audits.reviews"
    label = "reviews"
    verbose_name = "Audits: reviewer comparisons and ratings"

    def ready(self):
        from audits.reviews.judge import JUDGE_MARKER, offline_verdict
        from studio.llm.offline.engine import register_offline_judge

        register_offline_judge(JUDGE_MARKER, offline_verdict, with_persona=True)
