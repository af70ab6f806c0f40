import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from studio import services
from studio.models import Organization
from studio.roles import Role

DEMO_SLUG = "demo"
DEMO_USERNAME = "admin"
DEMO_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = "Create the demo organization and its admin user if missing (idempotent); print the login."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="", help="set this password instead of a generated one")

    @transaction.atomic
    def handle(self, *args, password, **options):
        User = get_user_model()
        password_file = settings.VAR_DIR / "demo_admin_password"
        user = User.objects.filter(username=DEMO_USERNAME).first()
        if user is None or password or not password_file.exists():
            password = password or secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_user(username=DEMO_USERNAME, email=DEMO_EMAIL, is_staff=True, is_superuser=True)
            user.set_password(password)
            user.save()
            password_file.write_text(password)
            password_file.chmod(0o600)
        org = Organization.objects.filter(slug=DEMO_SLUG).first() or services.org_create(name="Demo Studio", slug=DEMO_SLUG)
        services.member_add(organization=org, user=user, role=Role.OWNER)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{org.name}' ready. Log in as  {DEMO_USERNAME}  /  {password_file.read_text()}"
            )
        )
