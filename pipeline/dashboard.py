from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from pipeline.models import PipelineRun
from studio.dashboard import register_card


@register_card
def generation_card(organization) -> dict:
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = PipelineRun.objects.filter(organization=organization, created_at__gte=month_start).aggregate(
        cost=Sum("cost_usd"), runs=Count("id"), tokens=Sum("prompt_tokens") + Sum("completion_tokens")
    )
    return {
        "title": "Generation this month",
        "rows": [
            ("Runs", month["runs"]),
            ("Tokens", f"{month['tokens'] or 0:,}"),
            ("Cost month-to-date", f"${float(month['cost'] or 0):.4f}"),
        ],
        "link": ("Personas", reverse("persona_list", args=[organization.slug])),
    }
