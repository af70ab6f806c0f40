import threading
import time

from django.core.management.base import BaseCommand, CommandError

from studio.work.events import events_after
from pipeline.runner import run_execute
from pipeline.services import persona_generate
from studio.errors import StudioError
from studio.models import Membership, Organization
from studio.principal import Principal
from studio.roles import Role


def describe(event) -> str:
    data = event.data
    if event.type == "step.started":
        return f"▸ {data['step']} (round {data['attempt']}) on {data['model']}"
    if event.type == "step.completed":
        return f"✓ {data['step']} in {data['duration_ms']} ms via {data['model']}, ${data['cost_usd']:.4f}"
    if event.type == "audit.scored":
        return f"  audit {data['overall']:.2f} → {'passed' if data['passed'] else 'below threshold'}"
    if event.type == "pipeline.completed":
        return f"done: persona {data['persona_id']} is {data['status']} ({data['duration_ms']} ms, ${data['cost_usd']:.4f})"
    return f"✗ {event.type}: {data.get('error', '')}"


class Command(BaseCommand):
    help = "Generate a persona from a brief in this process, printing each step as it happens."

    def add_arguments(self, parser):
        parser.add_argument("brief")
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--workspace", default=None, help="workspace slug (default: the org's default)")
        parser.add_argument("--as", dest="as_email", default="", help="act as this member (default: the first owner)")

    def handle(self, *args, brief, org, workspace, as_email, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug '{org}'")
        members = Membership.objects.filter(organization=organization).select_related("organization", "user")
        member = members.filter(user__email__iexact=as_email).first() if as_email else members.filter(role=Role.OWNER).first()
        if member is None:
            raise CommandError(f"no member {as_email or '(owner)'} in {org}")
        try:
            persona, run = persona_generate(principal=Principal.from_membership(member), brief=brief, workspace=workspace)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"persona {persona.public_id}, run {run.public_id} ({run.engine} engine)")
        # The task was enqueued for a worker; run it here instead and print events as they land.
        worker = threading.Thread(target=run_execute, args=(run.pk,), daemon=True)
        worker.start()
        seq = 0
        while True:
            for event in events_after(run, seq):
                self.stdout.write(describe(event))
                seq = event.seq
            if not worker.is_alive() and not events_after(run, seq):
                break
            time.sleep(0.1)
        run.refresh_from_db()
        if run.status == "failed":
            raise CommandError(f"run failed: {run.error}")
