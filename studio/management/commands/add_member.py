import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from studio import services
from studio.errors import run_service
from studio.models import Organization
from studio.roles import Role


class Command(BaseCommand):
    help = "Add a user to an organization with a role, creating the user if needed (prints a generated password)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", default=Role.VIEWER.value, choices=[r.value for r in Role])
        parser.add_argument("--password", default="", help="password for a new user (default: generated and printed)")

    def handle(self, *args, org, email, role, password, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug '{org}'")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"'{email}' is not a valid email address") from None
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            if User.objects.filter(username=email).exists():
                raise CommandError(f"a user named {email} exists with another email address")
            password = password or secrets.token_urlsafe(12)
            user = User.objects.create_user(username=email, email=email, password=password)
            self.stdout.write(f"created user {email} with password: {password}")
        membership = run_service(lambda: services.member_add(organization=organization, user=user, role=role))
        self.stdout.write(f"{email} is {membership.role} of {organization.slug}")
