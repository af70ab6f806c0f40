from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"

    def ready(self):
        from audits.services import on_persona_generated
        from personas.signals import persona_generated

        # After a generation commits: the voice fingerprint and the provocation suite (settings.POST_GENERATION_JOBS).
        persona_generated.connect(on_persona_generated, dispatch_uid="audits.post_generation_jobs")
