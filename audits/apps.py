from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"

    def ready(self):
        from audits import attack_runs  # noqa: F401  (registers the attack run's runner with the audit jobs)
        from audits.judging import VERDICT_MARKER, offline_verdict
        from audits.lineage import persona_list_clones, persona_page_lineage
        from audits.services import on_persona_generated
        from personas.pages import register_persona_list_context, register_persona_page_context
        from personas.signals import persona_generated
        from studio.llm.offline.engine import register_offline_judge

        # After a generation commits: the voice fingerprint and the provocation suite (settings.POST_GENERATION_JOBS).
        persona_generated.connect(on_persona_generated, dispatch_uid="audits.post_generation_jobs")
        # The offline engine judges provocations with real checks of the transcript.
        register_offline_judge(VERDICT_MARKER, offline_verdict)
        # The persona page shows the family tree, a fork's drift from its parent and the distinctiveness; the list, near-clones.
        register_persona_page_context(persona_page_lineage)
        register_persona_list_context(persona_list_clones)
