from django.apps import AppConfig


class TrainingJobsConfig(AppConfig):
    name = "training_jobs"

    def ready(self):
        from training_jobs import attacks  # noqa: F401  (registers the checkpoint attack run's runner with the audit jobs)
        from personas.card_export import register_constitution_source
        from studio.llm.offline.engine import register_offline_judge
        from training_jobs.long_conversation import register as register_long_conversation_subject
        from training_jobs.range_evals import MARKER, offline_judgment
        from training_jobs.services import constitution_for_card

        register_offline_judge(MARKER, offline_judgment)
        # An exported character card carries the persona's constitution (its system prompt and the document).
        register_constitution_source(constitution_for_card)
        # A job's base model and tuned checkpoint can be trait-profiled (audits.traits)
        from training_jobs.trait_subjects import register as register_trait_subjects

        register_trait_subjects()
        register_long_conversation_subject()  # a checkpoint can be the subject of long-conversation eval cases
