from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "training_jobs.datasets"
    label = "datasets"
    verbose_name = "Training: datasets"

    def ready(self):
        from django.conf import settings

        from studio.upload_guard import register_upload_route
        from training_jobs.datasets.uploads import MULTIPART_SLACK, UPLOAD_PATHS, too_large_message

        # Dataset files: refused past DATASET_UPLOAD_MAX_BYTES before the server buffers the body.
        register_upload_route(UPLOAD_PATHS, max_bytes=lambda: settings.DATASET_UPLOAD_MAX_BYTES, slack=MULTIPART_SLACK,
                              too_large=too_large_message)
