"""The main navigation, shaped by role: each entry names who sees it. Pure data, no Django."""

from dataclasses import dataclass

from studio.roles import Role


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    current: tuple[str, ...]  # url names (or "prefix_*") under which the entry is the current page
    scope: str | None = None  # shown only to members holding this scope
    hidden_for: frozenset[Role] = frozenset()  # roles for whom the area is noise: nothing there is theirs to do

    def is_current(self, url_name: str | None) -> bool:
        return any(url_name == name or (name.endswith("*") and (url_name or "").startswith(name[:-1])) for name in self.current)


# A reviewer's work is the queue: the config tree, training jobs and datasets (readable through the API) stay out of
# their way. Viewers read everything, so they keep the read-only pages.
NOT_FOR_REVIEWERS = frozenset({Role.REVIEWER})
NAV = (
    NavEntry("Dashboard", "dashboard", ("dashboard",)),
    NavEntry("Personas", "persona_list", ("persona_list", "persona_detail")),
    NavEntry("Reviews", "review_home", ("review_*",)),
    NavEntry("Training", "training_job_list", ("training_job_*",), hidden_for=NOT_FOR_REVIEWERS),
    NavEntry("Datasets", "dataset_list", ("dataset_*",), hidden_for=NOT_FOR_REVIEWERS),
    NavEntry("Config", "config_tree", ("config_*",), hidden_for=NOT_FOR_REVIEWERS),
    NavEntry("Members", "members", ("members",)),
    NavEntry("API keys", "api_keys", ("api_keys",), scope="config:admin"),
    NavEntry("Providers", "credentials", ("credentials",), scope="config:admin"),
    NavEntry("Webhooks", "webhook_list", ("webhook_*",), scope="config:admin"),
)


def nav_for(role: Role, scopes: frozenset[str]) -> list[NavEntry]:
    return [entry for entry in NAV if role not in entry.hidden_for and (entry.scope is None or entry.scope in scopes)]
