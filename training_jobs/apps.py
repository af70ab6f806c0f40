from django.apps import AppConfig


class TrainingJobsConfig(AppConfig):
    name = "training_jobs"

    def ready(self):
        from personas.card_export import register_constitution_source
        from studio.llm.offline.engine import register_offline_judge
        from training_jobs.range_evals import MARKER, offline_judgment
        from training_jobs.services import constitution_for_card

        register_offline_judge(MARKER, offline_judgment)
        # An exported character card carries the persona's constitution (its system prompt and the document).
        register_constitution_source(constitution_for_card)
