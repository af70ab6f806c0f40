"""Background work for reviews: the studio writing pairs, and the LLM judge. Tasks take ids."""

from celery import shared_task

from audits.reviews.services import comparison_generation_execute, judge_comparisons_execute


@shared_task
def generate_comparisons(generation_id: int) -> None:
    comparison_generation_execute(generation_id)


@shared_task
def judge_comparisons(persona_id: int, comparison_ids: list[int]) -> int:
    return judge_comparisons_execute(persona_id, comparison_ids)
