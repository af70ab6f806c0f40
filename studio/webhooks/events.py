"""The catalog of webhook events an endpoint can subscribe to. Pure data, no Django."""

EVENTS = {
    "persona.generated": "A generation ended with a persona that passed its audit",
    "persona.flagged": "A generation ended below the audit threshold",
    "persona.fingerprint.ready": "A persona's fingerprint was computed",
    "persona.test_suite_complete": "A persona's test suite finished",
    "eval.completed": "An eval suite run finished",
    "training_job.*": "A training job finished a stage (training_job.stage_completed) or ended (.succeeded, .failed, .cancelled, .killed)",
}
PING = "ping"  # the "send test event" delivery: goes to one endpoint whatever it subscribes to


def family(event: str) -> str | None:
    """The wildcard subscription covering `event` ("training_job.*" for "training_job.completed"), if any."""
    prefix, dot, _ = event.rpartition(".")
    wildcard = f"{prefix}.*" if dot else None
    return wildcard if wildcard in EVENTS else None


def is_known(event: str) -> bool:
    return (event in EVENTS and not event.endswith(".*")) or family(event) is not None


def unknown_events(events: list[str]) -> list[str]:
    return [event for event in events if event not in EVENTS]


def subscribed(subscriptions: list[str], event: str) -> bool:
    return event in subscriptions or (family(event) or "") in subscriptions
