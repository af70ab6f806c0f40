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


# --- the kept tiny checkpoint (tests/tuned_model_helpers.py) -----------------------------------------------------------


def _fake_training(calls, fail=False):
    def train(out):
        calls.append(out)
        for name in ("adapter", "base"):
            (out / name).mkdir(parents=True)
            (out / name / "weights").write_text(f"{name} {len(calls)}")
        if fail:
            raise RuntimeError("training died")
        return {"adapter": str(out / "adapter"), "base": str(out / "base")}

    return train


def test_the_tiny_checkpoint_is_trained_once_and_then_read_where_it_was_kept(tmp_path, monkeypatch):
    from tests import tuned_model_helpers

    calls = []
    monkeypatch.setattr(tuned_model_helpers, "train_tiny_checkpoint", _fake_training(calls))
    first = tuned_model_helpers.kept_tiny_checkpoint(tmp_path)
    again = tuned_model_helpers.kept_tiny_checkpoint(tmp_path)
    assert first == again and len(calls) == 1
    assert (tmp_path / f"tiny-checkpoint-{tuned_model_helpers.checkpoint_key()}" / "adapter" / "weights").read_text() == "adapter 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"tiny-checkpoint-{tuned_model_helpers.checkpoint_key()}"]  # no scratch left


def test_a_training_that_dies_keeps_nothing_and_the_next_process_trains_again(tmp_path, monkeypatch):
    from tests import tuned_model_helpers

    calls = []
    monkeypatch.setattr(tuned_model_helpers, "train_tiny_checkpoint", _fake_training(calls, fail=True))
    try:
        tuned_model_helpers.kept_tiny_checkpoint(tmp_path)
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(tuned_model_helpers, "train_tiny_checkpoint", _fake_training(calls))
    folders = tuned_model_helpers.kept_tiny_checkpoint(tmp_path)
    assert len(calls) == 2 and open(folders["base"] + "/weights").read() == "base 2"


def test_the_checkpoint_key_follows_the_backend_code_and_the_libraries(tmp_path, monkeypatch):
    from tests import tuned_model_helpers

    key = tuned_model_helpers.checkpoint_key()
    backend = tmp_path / "trl_backend.py"
    backend.write_text("# another backend\n")
    monkeypatch.setattr(tuned_model_helpers, "_MADE_BY", [*tuned_model_helpers._MADE_BY, backend])
    changed_code = tuned_model_helpers.checkpoint_key()
    monkeypatch.setattr(tuned_model_helpers.importlib.metadata, "version", lambda name: "0.0-other")
    assert len({key, changed_code, tuned_model_helpers.checkpoint_key()}) == 3
