from django.contrib import admin

from audits.models import Fingerprint
from pipeline.admin import ReadOnly


@admin.register(Fingerprint)
class FingerprintAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "status", "engine", "scenarios", "created_at"]
    list_filter = ["status", "engine"]
    exclude = ["vector"]
