from django.apps import AppConfig


class TrainingJobsConfig(AppConfig):
    name = "training_jobs"

    def ready(self):
        from studio.llm.offline.engine import register_offline_judge
        from training_jobs.range_evals import MARKER, offline_judgment

        register_offline_judge(MARKER, offline_judgment)
