"""A test database copied from the migrated template (tests/db_template.py) against one migrated from empty, as
every test process used to make it: both on the engine of DATABASE_URL (SQLite embedded), in the same run."""

import time

from django.core.management import call_command
from django.db import connections

from tests import db_template


def test_a_test_database_copied_from_the_template_against_one_migrated(tmp_path, django_db_blocker):
    connection = connections["default"]
    sqlite = connection.vendor == "sqlite"
    name = (lambda label: str(tmp_path / f"{label}.sqlite3")) if sqlite else (lambda label: f"studio_bench_{label}")
    with django_db_blocker.unblock():
        db_template.template()  # made once per set of migrations: not what a test process pays
        copies = []
        for attempt in range(3):
            started = time.perf_counter()
            db_template.clone("default", name(f"copy{attempt}"))
            copies.append(time.perf_counter() - started)
        if not sqlite:
            db_template.clone("default", name("fresh"))
            db_template.pg_execute(connection, f'DROP DATABASE "{name("fresh")}"', f'CREATE DATABASE "{name("fresh")}"')
        started = time.perf_counter()
        with db_template.pointed_at(connection, name("fresh")):
            call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        migrated = time.perf_counter() - started
        if not sqlite:
            db_template.pg_execute(connection, *(f'DROP DATABASE IF EXISTS "{name(label)}"' for label in ("fresh", "copy0", "copy1", "copy2")))
    copied = min(copies)
    print(f"\ntest database on {connection.vendor}: migrated from empty {migrated:.2f} s; copied from the template "
          f"{copied:.3f} s (best of 3) — {migrated / copied:.0f}× less per test process")
    assert copied > 0
