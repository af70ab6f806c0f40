"""A work item's event log: numbered events, persisted, then broadcast to the item's channel group after commit."""

import math

from django.db import IntegrityError, transaction

from studio.realtime import send_event
from studio.work.lifecycle import TakenOver

WORK_EVENT = "work.event"  # the realtime event name the WebSocket consumers handle


def emit(item, type: str, data: dict, **item_fields):
    """Append an event to `item`'s log (and save `item_fields` on the item in the same transaction).

    One writer owns an item's log at a time (the worker that claimed it, or the reaper holding its row
    lock), so it keeps the last number it wrote on the item (`event_seq`) instead of asking the database
    each time. The unique (item, seq) constraint catches a second writer: the loser gets TakenOver and
    its transaction changes nothing. Subscribers get {"seq", "type", "data", "at", "<kind>_id"} once
    the transaction commits; Last-Event-ID is the seq.
    """
    log = item.events
    if getattr(item, "event_seq", None) is None:
        item.event_seq = last_event_seq(item)
    seq = item.event_seq + 1
    data = json_safe(data)
    try:
        with transaction.atomic():
            event = log.create(seq=seq, type=type, data=data)
            if item_fields:
                item.__class__.objects.filter(pk=item.pk).update(**item_fields)
            send_event(item.channel_group, WORK_EVENT, {"id": str(item.public_id), **event.as_message()})
    except IntegrityError as exc:
        if log.filter(seq=seq).exists():
            raise TakenOver(f"{item._meta.verbose_name} {item.public_id} already has event #{seq}") from exc
        raise
    item.event_seq = seq
    return event


def last_event_seq(item) -> int:
    """The newest event's number (0 before the first); Last-Event-ID cursors count from here."""
    return item.events.order_by("-seq").values_list("seq", flat=True).first() or 0


def events_after(item, seq: int) -> list:
    return list(item.events.filter(seq__gt=seq).order_by("seq"))


def json_safe(value):
    """NaN and ±inf (a diverging loss) as the strings "nan", "inf", "-inf": JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
