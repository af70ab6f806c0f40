from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self):
        from pipeline import dashboard  # noqa: F401  (registers the dashboard card)

        # The offline demo engine answers offline/<anything>; the gateway imports it (and litellm) lazily.
        from studio.llm.gateway import register_custom_provider

        register_custom_provider("offline", "pipeline.offline_litellm:OfflineLLM")
        # The local engine (SmolLM2 via xllamacpp, MiniLM embeddings) answers local/<model>.
        register_custom_provider("local", "studio.llm.local_llm:LocalLLM")
