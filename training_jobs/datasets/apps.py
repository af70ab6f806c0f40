from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "training_jobs.datasets"
    label = "datasets"
    verbose_name = "Training: datasets"
