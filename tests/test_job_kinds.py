"""The job-kind registry: its order is KIND_MODULES', whichever kind module was imported first."""

from training_jobs import job_kinds


def test_the_kinds_come_in_kind_modules_order_whichever_registered_first(monkeypatch):
    kinds = {kind.name: kind for kind in job_kinds.all_kinds()}
    assert list(kinds) == ["character", "unified"]
    # as if a test had imported training_jobs.kinds.unified before anything looked the kinds up
    monkeypatch.setattr(job_kinds, "_KINDS", {"unified": kinds["unified"], "character": kinds["character"]})
    assert [kind.name for kind in job_kinds.all_kinds()] == ["character", "unified"]
    assert [name for name, _ in job_kinds.kind_choices()] == ["character", "unified"]
    assert job_kinds.all_kinds()[0].name == job_kinds.DEFAULT_KIND
