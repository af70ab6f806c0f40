"""What reviewers score, in words: each axis's label and the one line that says what a 5 means. No Django."""

from studio.config.schema import REVIEW_AXES

AXES = {
    "in_character": ("In character", "Sounds, thinks and knows like the persona: its voice, values and history, never a generic assistant."),
    "protocol_adherent": ("Follows the protocol", "Keeps the persona's rules and boundaries, and answers in the form asked for."),
    "closure_complete": ("Closes the exchange", "Answers what was asked and ends cleanly: nothing left hanging, no loose offer to go on."),
}
assert tuple(AXES) == REVIEW_AXES, "every review axis has a label and a description"


def axis_label(axis: str) -> str:
    return AXES.get(axis, (str(axis).replace("_", " ").capitalize(), ""))[0]
