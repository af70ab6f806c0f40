"""Access helpers: the only way views, API operations and tasks load datasets, imports and generations."""

from studio.access import get_in_org
from training_jobs.datasets.models import Dataset, DatasetGeneration, DatasetImport


def access_dataset(organization, dataset_id) -> Dataset:
    return get_in_org(Dataset.objects.all(), organization, dataset_id, what="dataset")


def access_dataset_import(organization, dataset_import_id) -> DatasetImport:
    return get_in_org(DatasetImport.objects.select_related("dataset"), organization, dataset_import_id, what="dataset import")


def access_dataset_generation(organization, dataset_generation_id) -> DatasetGeneration:
    return get_in_org(DatasetGeneration.objects.select_related("dataset"), organization, dataset_generation_id, what="dataset generation")
