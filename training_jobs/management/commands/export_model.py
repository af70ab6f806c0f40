import os
import tempfile
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studio.errors import StudioError
from training_jobs.export import FORMATS, archive_name, clean_format, model_export_write
from training_jobs.models import TrainingJob


class Command(BaseCommand):
    help = ("Write a training job's trained model as a zip: the merged model (safetensors + tokenizer) or the LoRA "
            "adapter, each with a README.md model card (constitution, data sizes, evaluation, outcome).")

    def add_arguments(self, parser):
        parser.add_argument("job", help="the training job's public id")
        parser.add_argument("--format", dest="export_format", default="merged", help=f"{' | '.join(FORMATS)} (default merged)")
        parser.add_argument("--out", default="", help="the zip to write (default: ./<job name>-<format>.zip)")

    def handle(self, *args, job, export_format, out, **options):
        try:
            job_id = uuid.UUID(job)
            export_format = clean_format(export_format)
        except ValueError:
            raise CommandError(f"no training job {job!r}: give its public id (a UUID)") from None
        except StudioError as exc:
            raise CommandError(exc.message) from None
        found = TrainingJob.objects.select_related("persona", "constitution", "organization").filter(public_id=job_id).first()
        if found is None:
            raise CommandError(f"no training job {job}")
        target = Path(out or f"{archive_name(found, export_format)}.zip").resolve()
        if not target.parent.is_dir():
            raise CommandError(f"--out: folder {target.parent} does not exist")
        # Written beside the target and renamed at the end: a failed export leaves no half-written zip.
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                model_export_write(job=found, export_format=export_format, fileobj=fh)
            os.replace(partial, target)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        self.stdout.write(f"{export_format} model of {found.name} written to {target} ({target.stat().st_size:,} bytes)")
