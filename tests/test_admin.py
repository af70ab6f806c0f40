"""Every model has a Django admin page that opens for a superuser."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model

from tests.conftest import login_client

PROJECT_APPS = {"studio", "config", "safety", "webhooks", "personas", "pipeline", "audits", "chat", "evals", "reviews", "training_jobs", "datasets"}


def test_every_project_model_is_registered_in_the_admin():
    models = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]
    missing = [m.__name__ for m in models if m not in admin.site._registry]
    assert not missing, f"models without an admin: {missing}"


@pytest.mark.parametrize("model", [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS], ids=lambda m: m.__name__)
def test_the_admin_changelist_opens(model, db, generate):
    generate()  # a persona with a run, steps and events to list
    superuser = get_user_model().objects.create_superuser("root", "root@studio.test", "pw-12345678")
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert login_client(superuser).get(url).status_code == 200
