from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self):
        from pipeline import dashboard  # noqa: F401  (registers the dashboard card)
        from pipeline.offline_drafts import draft_reply
        from studio.llm.offline.engine import register_offline_responder

        # The offline engine answers the step prompts with drafts of the persona's layers.
        register_offline_responder(PERSONA_STEPS, draft_reply)


PERSONA_STEPS = "persona steps"  # the responder's name in the offline engine
