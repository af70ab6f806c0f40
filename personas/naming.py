"""Persona names are unique within an organization: the deterministic variant of a name that is taken. No Django.

Used where a name is chosen (the offline engine's surface step) and where it is saved (the pipeline's
last step), so two personas of one org never share a name, whichever engine wrote it.
"""

MAX_NAME = 120  # Persona.name's length
_INITIALS = "ABCDEFGHJKLMNOPRSTVW"


def unique_name(name: str, taken) -> str:
    """`name`, or the first free variant of it: a middle initial ("Rui A. Sousa"), then a number ("Rui Sousa 2").

    `taken` holds the names in use, case-folded. Deterministic: the same name and taken set give the same answer.
    """
    name = " ".join(name.split())[:MAX_NAME] or "Persona"
    if name.casefold() not in taken:
        return name
    first, _, rest = name.partition(" ")
    if rest:
        for initial in _INITIALS:
            variant = f"{first} {initial}. {rest}"
            if len(variant) <= MAX_NAME and variant.casefold() not in taken:
                return variant
    number = 2
    while True:
        suffix = f" {number}"
        variant = name[: MAX_NAME - len(suffix)] + suffix
        if variant.casefold() not in taken:
            return variant
        number += 1
