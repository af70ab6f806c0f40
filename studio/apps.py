from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    verbose_name = "Studio: tenancy and access"

    def ready(self):
        # The gateway imports these providers (and litellm) lazily, on the first call to one of their models.
        from studio.llm.gateway import register_custom_provider

        # The offline demo engine answers offline/<anything>; the apps teach it their prompts from their ready().
        register_custom_provider("offline", "studio.llm.offline.provider:OfflineLLM",
                                 direct="studio.llm.offline.handler:OfflineEngine")
        # The local engine (SmolLM2 via xllamacpp, MiniLM embeddings) answers local/<model>.
        register_custom_provider("local", "studio.llm.local_llm:LocalLLM")
