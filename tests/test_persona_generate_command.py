from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from personas.models import Persona


@pytest.mark.django_db(transaction=True)  # the command runs the pipeline in a thread of its own
def test_the_command_generates_a_persona_printing_each_step(tenant):
    out = StringIO()
    call_command("persona_generate", "A lock-keeper on the Canal du Midi who times his day by barges", "--org", "acme", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("persona ") and "(offline engine)" in lines[0]
    for step in ("intent_parse", "soul_draft", "self_enrich", "mask_build", "surface_ground", "audit"):
        assert any(line.startswith(f"✓ {step}") for line in lines), step
    assert lines[-1].startswith("done: persona") and Persona.objects.get().status in ("ready", "flagged")


def test_the_command_refuses_an_unknown_org_and_a_bad_brief(tenant):
    with pytest.raises(CommandError, match="no organization"):
        call_command("persona_generate", "brief", "--org", "nope")
    with pytest.raises(CommandError, match="brief must not be empty"):
        call_command("persona_generate", "   ", "--org", "acme")
