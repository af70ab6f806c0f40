from personas.models import Persona
from studio.access import get_in_org


def access_persona(organization, persona_id) -> Persona:
    return get_in_org(Persona.objects.select_related("workspace", "current_version"), organization, persona_id, what="persona")
