from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self):
        from personas.audit_history import register_audit_attempts
        from personas.cards import MAX_FILE_BYTES
        from studio.upload_guard import register_upload_route
        from personas.pages import register_persona_page_context
        from pipeline import dashboard  # noqa: F401  (registers the dashboard card)
        from pipeline.offline_drafts import draft_reply
        from personas.signals import persona_version_saved
        from pipeline.selectors import audit_attempts, persona_page_runs
        from pipeline.services import on_version_saved
        from studio.llm.offline.engine import register_offline_responder

        # The offline engine answers the step prompts with drafts of the persona's layers.
        register_offline_responder(PERSONA_STEPS, draft_reply)
        # The audits pages show the generation's audit attempts; the persona page its runs.
        register_audit_attempts(audit_attempts)
        register_persona_page_context(persona_page_runs)
        # An edited or restored version is audited when the org config says engine.pipeline.audit.on_edit.
        persona_version_saved.connect(on_version_saved, dispatch_uid="pipeline.audit_on_edit")
        # Card uploads: a body far past the card limit is refused (413) before the server buffers it; one a little
        # past it reaches the import, which answers 422 naming the file and the limit.
        register_upload_route(CARD_UPLOAD_PATHS, max_bytes=lambda: 2 * MAX_FILE_BYTES, slack=64 * 1024,
                              too_large=lambda limit: f"a character card upload may be at most {limit:,} bytes")


PERSONA_STEPS = "persona steps"  # the responder's name in the offline engine
CARD_UPLOAD_PATHS = r"^/v1/personas/import$|^/o/[^/]+/personas/import/$"
