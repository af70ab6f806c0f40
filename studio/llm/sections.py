"""Prompts written as `### name` sections, and read back: the step prompts, the judges' prompts and the
offline engine (studio.llm.offline), which answers them from the sections, share this one format."""

SECTION = "### "


def parse_sections(text: str) -> dict[str, str]:
    """{"step": ..., "attempt": ..., "brief": ..., "soul": "<json>", ...} from `### name: value` and `### name\\nbody` blocks."""
    sections: dict[str, str] = {}
    for block in text.split("\n\n" + SECTION):
        block = block.removeprefix(SECTION)
        head, _, body = block.partition("\n")
        if ":" in head and not body:
            name, _, value = head.partition(":")
            sections[name.strip()] = value.strip()
        else:
            sections[head.strip()] = body
    return sections
