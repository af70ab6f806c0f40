"""Test databases cloned from one migrated template instead of migrated one by one.

Migrating an empty database costs about 12 s on SQLite and 20 s on PostgreSQL (71 migrations, most of it Django
rendering model states), and every test process used to pay it: each xdist worker, the browser tests' server, CI's
model, fault and worker-check runs. Now the first process that needs a database migrates a template, keyed by the
content of every migration file, and the others copy it: SQLite's backup API, PostgreSQL's `CREATE DATABASE … TEMPLATE`
(a fraction of a second). A changed migration changes the key, so a template is never stale; `make clean` removes the
SQLite ones, and `.ci/run` drops PostgreSQL's before it starts, as on a fresh machine.

Only the migrations' outcome is shared: each process still gets a database of its own, made the way Django's
`create_test_db` makes it (names, serialized contents for `serialized_rollback`, the cache table).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import time
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.backends.base.creation import BaseDatabaseCreation

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "var" / "test-templates"
PG_PREFIX = "studio_tpl_"


def migrations_key() -> str:
    """A digest of every installed app's migration files (and Django's version): what a migrated database holds."""
    digest = hashlib.sha256(django.get_version().encode())
    for app in sorted(apps.get_app_configs(), key=lambda app: app.label):
        folder = Path(app.path) / "migrations"
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else ():
            digest.update(f"{app.label}/{path.name}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _is_sqlite(connection) -> bool:
    return connection.vendor == "sqlite"


@contextlib.contextmanager
def built_alone(key: str):
    """One builder of `key` per checkout at a time (a migrated template, the kept tiny checkpoint); the others wait and
    then find it made."""
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    with open(TEMPLATES / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def pointed_at(connection, name: str):
    """The alias's connection (the one `migrate` uses) on database `name` for the block, then back."""
    alias, saved, saved_setting = connection.alias, connection.settings_dict["NAME"], settings.DATABASES[connection.alias]["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = settings.DATABASES[alias]["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"], settings.DATABASES[alias]["NAME"] = saved, saved_setting


def pg_execute(connection, *statements: str) -> None:
    with connection._nodb_cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _pg_exists(connection, name: str) -> bool:
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def template(alias: str = "default") -> str:
    """The migrated template for the alias's engine (a file path for SQLite, a database name for PostgreSQL), made
    on first use."""
    connection = connections[alias]
    key = migrations_key()
    name = str(TEMPLATES / f"{key}.sqlite3") if _is_sqlite(connection) else f"{PG_PREFIX}{key}"
    with built_alone(key):
        if _is_sqlite(connection):
            if not Path(name).exists():
                _build_sqlite(connection, key, Path(name))
        elif not _pg_exists(connection, name):
            _build_postgres(connection, name)
    return name


def _migrate(connection) -> None:
    call_command("migrate", verbosity=0, interactive=False, database=connection.alias, run_syncdb=True)


def _build_sqlite(connection, key: str, path: Path) -> None:
    for old in TEMPLATES.glob("*.sqlite3"):  # earlier migrations' templates
        old.unlink(missing_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    with pointed_at(connection, str(partial)):
        _migrate(connection)
        with connection.cursor() as cursor:  # one self-contained file: no write-ahead log beside it
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("PRAGMA journal_mode=DELETE")
    os.replace(partial, path)


def _build_postgres(connection, name: str) -> None:
    """Migrated under a name of its own, then renamed: another checkout on the same server never sees half a template."""
    partial = f"{name}_{os.getpid()}"
    pg_execute(connection, f'DROP DATABASE IF EXISTS "{partial}"', f'CREATE DATABASE "{partial}"')
    with pointed_at(connection, partial):
        _migrate(connection)
    try:
        pg_execute(connection, f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    except Exception:
        if not _pg_exists(connection, name):
            raise
        pg_execute(connection, f'DROP DATABASE IF EXISTS "{partial}"')  # another checkout made it first


def clone(alias: str, target: str) -> None:
    """Database `target` (a SQLite path or a PostgreSQL name) made afresh as a copy of the alias's template."""
    connection = connections[alias]
    source = template(alias)
    if _is_sqlite(connection):
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        return
    pg_execute(connection, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    for attempt in range(50):  # PostgreSQL refuses a template another session is copying or reading at that moment
        try:
            pg_execute(connection, f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
            return
        except Exception as error:
            if "being accessed by other users" not in str(error) or attempt == 49:
                raise
            time.sleep(0.2)


_django_create_test_db = BaseDatabaseCreation.create_test_db


def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
    """Django's create_test_db with the migrations replaced by a copy of the template. A kept database (`--reuse-db`)
    goes Django's way, which migrates it forward."""
    if keepdb or self.connection.vendor not in ("sqlite", "postgresql") or self.connection.settings_dict["TEST"].get("MIGRATE") is False:
        return _django_create_test_db(self, verbosity, autoclobber, serialize, keepdb)
    name = self._get_test_db_name()
    if _is_sqlite(self.connection) and self.is_in_memory_db(name):
        return _django_create_test_db(self, verbosity, autoclobber, serialize, keepdb)
    clone(self.connection.alias, name)
    self.connection.close()
    settings.DATABASES[self.connection.alias]["NAME"] = self.connection.settings_dict["NAME"] = name
    if serialize:
        self.connection._test_serialized_contents = self.serialize_db_to_string()
    call_command("createcachetable", database=self.connection.alias)
    self.connection.ensure_connection()
    return name


def install() -> None:
    BaseDatabaseCreation.create_test_db = create_test_db
