"""The test databases are copies of one migrated template (tests/db_template.py): what they hold is what migrating
gives, and a changed migration makes a new template."""

import types

from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests import db_template


def test_the_test_database_has_every_migration_applied_and_the_models_need_no_new_one(db):
    loader = MigrationLoader(connection)
    assert set(loader.disk_migrations) == loader.applied_migrations.keys()
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits non-zero when a model has changed


def test_the_test_database_is_a_copy_of_the_template_not_the_template(db):
    assert connection.settings_dict["NAME"] != db_template.template()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations")
        assert cursor.fetchone()[0] == len(MigrationLoader(connection).applied_migrations)


def test_the_key_follows_the_migration_files(tmp_path, monkeypatch):
    (tmp_path / "migrations").mkdir()
    migration = tmp_path / "migrations" / "0001_initial.py"
    migration.write_text("operations = []\n")
    monkeypatch.setattr(apps, "get_app_configs", lambda: [types.SimpleNamespace(label="demo", path=str(tmp_path))])
    first = db_template.migrations_key()
    assert db_template.migrations_key() == first
    migration.write_text("operations = [1]\n")
    edited = db_template.migrations_key()
    assert edited != first
    (tmp_path / "migrations" / "0002_more.py").write_text("")
    assert db_template.migrations_key() not in (first, edited)
