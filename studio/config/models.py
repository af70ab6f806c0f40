"""The org config tree: stored overrides per scope, locks, snapshots and the append-only history.

A scope is the org's tree (workspace is NULL) or one workspace's tree. Every write
locks the scope rows and bumps the scope's `version`, a counter that never goes
back; an item's `version` is the scope version that last wrote it. So a version
seen once is never seen again, even after unset and set (no ABA), and a client
that sends the version it read gets 409 when anything changed since.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from studio.models import ApiKey, Organization, Workspace
from studio.words import plural


class ConfigScope(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="config_scopes")
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=Q(workspace=None), name="config_one_org_scope"),
            models.UniqueConstraint(fields=["organization", "workspace"], name="config_one_scope_per_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.organization.slug}/{self.workspace.slug if self.workspace_id else '(org)'} v{self.version}"


class ConfigItem(models.Model):
    """One override: `key` = `value` in a scope."""

    scope = models.ForeignKey(ConfigScope, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=200)
    value = models.JSONField()
    version = models.PositiveBigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="config_one_item_per_key")]

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}"


class Authored(models.Model):
    """Who did it: a member (user) or an API key, with a label kept even if either is deleted."""

    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_label = models.CharField(max_length=200)

    class Meta:
        abstract = True


class ConfigLock(Authored):
    """A key locked at org scope: no workspace override, and only admins change the org value."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="config_locks")
    key = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="config_one_lock_per_key")]

    def __str__(self) -> str:
        return f"{self.key} locked: {self.reason}"


# Deleting a user, API key or org nulls these links through QuerySet.update(); the label stays.
UNLINKABLE = frozenset({"author_user", "author_api_key", "snapshot"})


class WriteOnceQuerySet(models.QuerySet):
    """No bulk edit or delete from application code (cascades from a deleted org still remove rows)."""

    def update(self, **kwargs):
        if kwargs and all(name in UNLINKABLE and value is None for name, value in kwargs.items()):
            return super().update(**kwargs)
        raise TypeError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are append-only")


class WriteOnce(models.Model):
    objects = WriteOnceQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are append-only")


class SnapshotKind(models.TextChoices):
    MANUAL = "manual", "Manual"
    BEFORE_ROLLBACK = "before_rollback", "Before rollback"
    BEFORE_IMPORT = "before_import", "Before import"


class ConfigSnapshot(WriteOnce, Authored):
    """An immutable copy of one scope's stored tree."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="config_snapshots")
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=SnapshotKind.choices, default=SnapshotKind.MANUAL)
    items = models.JSONField(default=dict)  # {key: value}: one row however large the tree
    item_count = models.PositiveIntegerField()
    scope_version = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label} ({plural(self.item_count, 'item')})"

    @property
    def scope_label(self) -> str:
        return self.workspace.slug if self.workspace_id else "org"


class ChangeAction(models.TextChoices):
    SET = "set", "Set"
    UNSET = "unset", "Unset"
    BULK = "bulk", "Bulk set"
    LOCK = "lock", "Lock"
    UNLOCK = "unlock", "Unlock"
    PRESET = "preset", "Preset"
    ROLLBACK = "rollback", "Rollback"
    IMPORT = "import", "Import"


class ConfigChange(WriteOnce, Authored):
    """One history entry: who changed which key of which scope, from what to what, and why.

    old/new are NULL where the key had or has no value at that scope (the tree never stores null).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="config_changes")
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=16, choices=ChangeAction.choices)
    key = models.CharField(max_length=200, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    batch = models.UUIDField(default=uuid.uuid4, editable=False)  # entries written by one operation
    snapshot = models.ForeignKey(ConfigSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scope_version = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "key"], name="config_change_org_key")]

    def __str__(self) -> str:
        return f"{self.action} {self.key} by {self.author_label}"

    @property
    def scope_label(self) -> str:
        return self.workspace.slug if self.workspace_id else "org"
