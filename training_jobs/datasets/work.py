"""Dataset generations on the work engine. The rows are stored at the end (no checkpoint), so a generation whose worker
died is failed, saying how far its calls got."""

from studio.work.reaper import Kind, register
from training_jobs.datasets.models import DatasetGeneration


def _fail(generation: DatasetGeneration, error: str) -> None:
    from training_jobs.datasets.services import dataset_generation_fail

    dataset_generation_fail(generation, error)


def _where(generation: DatasetGeneration) -> str:
    if generation.status not in DatasetGeneration.RUNNING or not generation.calls_total:
        return ""
    return f" after {generation.calls_done} of {generation.calls_total} prompts"


register(Kind(name="dataset generation", model=DatasetGeneration, fail=_fail, stale_reason=_where,
              advice=lambda generation: "no rows were written; start the generation again"))
