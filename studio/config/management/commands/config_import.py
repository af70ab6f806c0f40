import json
import sys

from django.core.management.base import BaseCommand, CommandError

from studio.config.management.commands._scope import org_and_workspace
from studio.config.services import Operator, config_import
from studio.errors import run_service


class Command(BaseCommand):
    help = (
        "Import a config tree exported by config_export (or {key: value}) into one scope, validated like any "
        "write; all or nothing. Merges by default; --replace also removes keys the file lacks."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="JSON file, or - for stdin")
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--workspace", default="", help="workspace slug (default: the org scope)")
        parser.add_argument("--replace", action="store_true", help="make the scope's tree exactly the file's")
        parser.add_argument("--reason", default="", help="recorded in the history")

    def handle(self, *args, path, org, workspace, replace, reason, **options):
        organization, workspace_obj = org_and_workspace(org, workspace)
        document = self._read(path)
        items = document.get("items", document) if isinstance(document, dict) else document
        actor = Operator(organization=organization)
        reason = reason or f"imported from {path}"
        result = run_service(
            lambda: config_import(actor=actor, items=items, workspace=workspace_obj, replace=replace, reason=reason)
        )
        scope = f"workspace {workspace}" if workspace else "org scope"
        self.stdout.write(f"imported into {org} {scope}: {len(result.changes)} keys changed, version {result.version}")

    def _read(self, path: str):
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
            return json.loads(text)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from None
