"""Signals other apps listen to (they depend on personas, never the other way round)."""

from django.dispatch import Signal

# Sent after the transaction that ended a generation run commits.
# kwargs: persona (Persona), version (PersonaVersion), status ("ready" | "flagged")
persona_generated = Signal()

# Sent after the transaction that saved a version edited by hand (or restored) commits.
# kwargs: persona (Persona), version (PersonaVersion), principal (studio.principal.Principal)
persona_version_saved = Signal()
