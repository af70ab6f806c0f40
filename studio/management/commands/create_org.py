from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studio import services
from studio.errors import run_service


class Command(BaseCommand):
    help = "Create an organization (with a Default workspace), optionally owned by an existing user."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", default="")
        parser.add_argument("--owner-email", default="", help="email of an existing user to make owner")

    def handle(self, *args, name, slug, owner_email, **options):
        owner = None
        if owner_email:
            owner = get_user_model().objects.filter(email__iexact=owner_email).first()
            if owner is None:
                raise CommandError(f"no user with email {owner_email}; create it with add_member")
        org = run_service(lambda: services.org_create(name=name, slug=slug, owner=owner))
        self.stdout.write(f"created organization {org.slug} ({org.public_id})")
