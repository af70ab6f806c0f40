"""One engine for background work: every kind (persona runs, audit jobs, eval runs, comparison generations and
judge runs, training jobs, dataset generations) is a `WorkItem` that a worker claims, keeps alive with a heartbeat,
and finishes, fails or cancels; the reaper (one beat task for every kind) resumes or fails items whose worker died;
kinds with a live event log share `emit`, one SSE stream and one WebSocket consumer base that replay by seq.

- models:     WorkItem (attempt, claimed_by, heartbeat_at, started_at, finished_at) and WorkEvent (seq, type, data)
- lifecycle:  claim, Heartbeat (a thread beating while the work runs), TakenOver, the worker's name
- events:     emit (persist + broadcast after commit), events_after
- reaper:     the registry of kinds and reap(), run by tasks.reap_stale_work
- sse:        the event stream (replay after Last-Event-ID, follow live, keep-alive, database fallback)
- consumers:  the WebSocket consumer bases
- broker:     the Redis transport that keeps a worker alive through a Redis restart
"""
