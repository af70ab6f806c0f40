import json

from django.core.management.base import BaseCommand

from studio.config.management.commands._scope import org_and_workspace
from studio.config.services import config_export


class Command(BaseCommand):
    help = "Write one scope's config tree (org, or --workspace) as JSON, to stdout or --output."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--workspace", default="", help="workspace slug (default: the org scope)")
        parser.add_argument("--output", default="-", help="file to write (default: stdout)")

    def handle(self, *args, org, workspace, output, **options):
        organization, workspace_obj = org_and_workspace(org, workspace)
        text = json.dumps(config_export(organization=organization, workspace=workspace_obj), indent=2, sort_keys=True)
        if output == "-":
            self.stdout.write(text)
        else:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            self.stderr.write(f"wrote {output}")
