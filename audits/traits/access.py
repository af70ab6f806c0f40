from audits.traits.models import TraitProfile
from studio.access import get_in_org


def access_trait_profile(organization, profile_id) -> TraitProfile:
    return get_in_org(TraitProfile.objects.select_related("organization", "persona", "prompt_set"), organization, profile_id,
                      what="trait profile")
