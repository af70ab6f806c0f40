from django.core.management.base import BaseCommand, CommandError

from studio import services
from studio.errors import run_service
from studio.models import Organization
from studio.roles import SCOPES


class Command(BaseCommand):
    help = "Create an org API key with the given scopes and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--scopes", required=True, nargs="+", help=f"scopes, space or comma separated: {', '.join(SCOPES)}")
        parser.add_argument("--name", default="created from the command line")

    def handle(self, *args, org, scopes, name, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug '{org}'")
        scope_list = [s.strip() for item in scopes for s in item.split(",") if s.strip()]
        issued = run_service(
            lambda: services.api_key_create(
                organization=organization, name=name, scopes=scope_list, granted_by=frozenset(SCOPES)
            )
        )
        self.stderr.write(f"API key {issued.api_key.public_id} for {organization.slug} ({', '.join(issued.api_key.scopes)}); shown once:")
        self.stdout.write(issued.secret)
