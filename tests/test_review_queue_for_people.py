"""Issue 18, reviewers: a styled queue whose axes have human labels and a line each, guidelines per prompt set set by
editors and shown above the pair, undo of the last vote or skip within 10 minutes, import and write-pairs apart."""

import re
from datetime import timedelta

from django.utils import timezone
from django.utils.html import escape

from audits.reviews.axes import AXES
from audits.reviews.models import Assignment, Judgment
from tests.conftest import login_client
from tests.reviews_helpers import SCORES, add_reviewer, make_pairs

HX = {"HTTP_HX_REQUEST": "true"}
VOTE = {"choice": "a", **{k: str(v) for k, v in SCORES.items()}}


def current_pair(page: str) -> str:
    return re.search(r'hx-post="/o/acme/reviews/queue/([0-9a-f-]+)/vote/"', page).group(1)


def test_axes_read_as_labels_with_a_line_each_and_no_browser_default_fieldsets(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 1)
    page = login_client(add_reviewer(tenant, persona, "r@acme.test")).get("/o/acme/reviews/queue/").content.decode()
    for axis, (label, help_line) in AXES.items():
        assert re.search(rf'data-axis="{axis}"[^>]*><legend>{label} ', page) and escape(help_line) in page
    assert "<legend>in_character" not in page and "<style>" not in page
    assert 'class="vote-group' in page and "studio/ui.css" in page


def test_editors_write_guidelines_per_prompt_set_and_reviewers_see_them_above_the_pair(tenant, persona, owner_principal, client_for):
    make_pairs(owner_principal, persona, 1, prompt_set="calm")
    editor = client_for(tenant.user("editor"))
    response = editor.post(f"/o/acme/reviews/personas/{persona.public_id}/guidelines/", {"prompt_set": "calm", "text": "Ines never offers more help."})
    assert response.status_code == 302 and response["Location"].endswith("?prompt_set=calm#guidelines")
    page = login_client(add_reviewer(tenant, persona, "g@acme.test")).get("/o/acme/reviews/queue/").content.decode()
    guidelines = page.index('data-testid="guidelines"')
    assert "Ines never offers more help." in page and guidelines < page.index('data-testid="prompt"')
    editor_page = editor.get(f"/o/acme/reviews/personas/{persona.public_id}/?prompt_set=calm").content.decode()
    assert "Ines never offers more help.</textarea>" in editor_page


def test_guidelines_of_another_prompt_set_are_not_shown_and_reviewers_cannot_write_them(tenant, persona, owner_principal, client_for):
    make_pairs(owner_principal, persona, 1, prompt_set="calm")
    client_for(tenant.user("editor")).post(f"/o/acme/reviews/personas/{persona.public_id}/guidelines/", {"prompt_set": "storm", "text": "Loud."})
    reviewer = add_reviewer(tenant, persona, "g2@acme.test")
    assert 'data-testid="guidelines"' not in login_client(reviewer).get("/o/acme/reviews/queue/").content.decode()
    refused = login_client(reviewer).post(f"/o/acme/reviews/personas/{persona.public_id}/guidelines/", {"prompt_set": "calm", "text": "x"})
    assert refused.status_code == 403


def test_the_last_vote_is_undone_and_the_pair_comes_back_first(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 2)
    client = login_client(add_reviewer(tenant, persona, "u@acme.test"))
    first = current_pair(client.get("/o/acme/reviews/queue/").content.decode())
    after = client.post(f"/o/acme/reviews/queue/{first}/vote/", VOTE, **HX).content.decode()
    assert f'hx-post="/o/acme/reviews/queue/{first}/undo/"' in after and "Your last vote" in after
    assert current_pair(after) != first
    undone = client.post(f"/o/acme/reviews/queue/{first}/undo/", **HX).content.decode()
    assert "Undone: the pair is back" in undone and current_pair(undone) == first
    assert Judgment.objects.count() == 0
    again = client.post(f"/o/acme/reviews/queue/{first}/vote/", VOTE, **HX)
    assert again.status_code == 200 and Judgment.objects.count() == 1


def test_a_skip_is_undone_too(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 2)
    client = login_client(add_reviewer(tenant, persona, "s@acme.test"))
    first = current_pair(client.get("/o/acme/reviews/queue/").content.decode())
    skipped = client.post(f"/o/acme/reviews/queue/{first}/skip/", **HX).content.decode()
    assert "Your last skip" in skipped
    undone = client.post(f"/o/acme/reviews/queue/{first}/undo/", **HX).content.decode()
    assert current_pair(undone) == first and Assignment.objects.get(comparison__public_id=first).skipped_at is None


def test_only_the_last_action_and_only_for_ten_minutes(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 3)
    client = login_client(add_reviewer(tenant, persona, "t@acme.test"))
    first = current_pair(client.get("/o/acme/reviews/queue/").content.decode())
    second = current_pair(client.post(f"/o/acme/reviews/queue/{first}/vote/", VOTE, **HX).content.decode())
    client.post(f"/o/acme/reviews/queue/{second}/skip/", **HX)
    older = client.post(f"/o/acme/reviews/queue/{first}/undo/", **HX)
    assert older.status_code == 409 and "only your last vote or skip" in older.content.decode()
    Assignment.objects.filter(comparison__public_id=second).update(skipped_at=timezone.now() - timedelta(minutes=11))
    Judgment.objects.update(created_at=timezone.now() - timedelta(minutes=12))
    late = client.post(f"/o/acme/reviews/queue/{second}/undo/", **HX)
    assert late.status_code == 409 and "within 10 minutes" in late.content.decode()
    assert 'data-testid="undo-form"' not in client.get("/o/acme/reviews/queue/").content.decode()


def test_import_and_write_pairs_are_two_cards_each_with_its_own_prompt_set(tenant, persona, client_for):
    page = client_for(tenant.user("editor")).get(f"/o/acme/reviews/personas/{persona.public_id}/").content.decode()
    imports = re.search(r'data-testid="import-pairs">.*?</section>', page, re.S).group(0)
    writes = re.search(r'data-testid="write-pairs">.*?</section>', page, re.S).group(0)
    assert "Preview import" in imports and "Write pairs" not in imports and imports.count('name="prompt_set"') == 1
    assert "Write pairs</button>" in writes and "Preview import" not in writes and writes.count('name="prompt_set"') == 1
    assert "<td>In character</td>" in page  # the agreement table names axes as people do


def test_a_weighted_score_follows_the_one_rounding_rule(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 1)
    client = login_client(add_reviewer(tenant, persona, "w@acme.test"))
    first = current_pair(client.get("/o/acme/reviews/queue/").content.decode())
    page = client.post(f"/o/acme/reviews/queue/{first}/vote/", VOTE, **HX).content.decode()
    # Independently: 0.4 × 4 + 0.3 × 3 + 0.3 × 5 = 4.0, shown with the two places every score has.
    assert 'data-testid="weighted-score">4.00</strong>' in page
