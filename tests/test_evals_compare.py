"""Two eval runs compared on their shared cases: exact McNemar and Newcombe's paired interval with one trial per case,
a paired bootstrap with several; in the API (/v1/eval-runs/{a}/compare/{b}) and on the persona's Evals tab."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from audits.evals.models import EvalRun
from audits.evals.stats import compare_cases, mcnemar_p, newcombe_paired_interval, paired_bootstrap
from personas.models import Persona
from tests.evals_helpers import completed_run

Z = 1.959963984540054


def wilson(x, n):
    p = x / n
    centre, half = p + Z * Z / (2 * n), Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def newcombe_method_10(a, b, c, d):
    """Newcombe (1998), method 10, in the paper's notation: the 2×2 of pairs (a both +, b first + only, c second + only,
    d neither); the interval of θ = p1 − p2 = (b − c)/n from the Wilson limits of p1 = (a+b)/n and p2 = (a+c)/n."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    (l1, u1), (l2, u2) = wilson(a + b, n), wilson(a + c, n)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denominator) if denominator else 0.0
    theta = p1 - p2
    delta = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    epsilon = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return theta - delta, theta + epsilon


def exact_mcnemar(b, c):
    """Two-sided exact McNemar written out: twice the binomial(b + c, ½) tail beyond the smaller count, at most 1."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n)


def binary_runs(both, first_only, second_only, neither):
    """({case: (passes, trials)} first, second) with one trial per case, laid out as the 2×2."""
    first, second, i = {}, {}, 0
    for count, (a, b) in ((both, (1, 1)), (first_only, (1, 0)), (second_only, (0, 1)), (neither, (0, 0))):
        for _ in range(count):
            first[f"c{i}"], second[f"c{i}"] = (a, 1), (b, 1)
            i += 1
    return first, second


# --- the statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize("improved, regressed", [(0, 0), (1, 0), (5, 1), (12, 0), (3, 9), (20, 17), (40, 25)])
def test_mcnemar_is_the_exact_binomial_test_on_the_discordant_cases(improved, regressed):
    expected = binomtest(improved, improved + regressed, 0.5).pvalue if improved + regressed else 1.0
    assert mcnemar_p(improved, regressed) == pytest.approx(expected, rel=1e-9)
    assert mcnemar_p(improved, regressed) == pytest.approx(exact_mcnemar(improved, regressed), rel=1e-9)


@pytest.mark.parametrize("table", [(20, 3, 9, 8), (0, 0, 12, 18), (30, 0, 0, 0), (0, 0, 0, 25), (5, 5, 5, 5), (12, 1, 14, 3)])
def test_the_paired_interval_is_newcombes_method_10(table):
    both, first_only, second_only, neither = table
    first, second = binary_runs(both, first_only, second_only, neither)
    row = compare_cases(first, second)
    n = sum(table)
    # second − first = −(p1 − p2) in the paper's terms, with the first run as p1
    low, high = newcombe_method_10(both, first_only, second_only, neither)
    assert row["interval"] == [pytest.approx(max(-1, -high)), pytest.approx(min(1, -low))]
    assert row["difference"] == pytest.approx((second_only - first_only) / n)
    assert row["interval"][0] <= row["difference"] <= row["interval"][1]
    assert row["p_value"] == pytest.approx(exact_mcnemar(second_only, first_only))
    assert (row["method"], row["improved"], row["regressed"], row["unchanged"]) == ("mcnemar", second_only, first_only, both + neither)
    assert newcombe_paired_interval(both, second_only, first_only, neither) == tuple(row["interval"])


def test_a_planted_improvement_is_called_better_and_a_planted_regression_worse():
    first, second = binary_runs(10, 0, 12, 8)  # 12 cases fixed, none broken
    better = compare_cases(first, second)
    assert better["direction"] == "better" and better["interval"][0] > 0 and better["p_value"] < 0.001
    worse = compare_cases(second, first)
    assert worse["direction"] == "worse" and worse["interval"][1] < 0
    assert worse["difference"] == pytest.approx(-better["difference"])


def test_a_small_change_whose_interval_includes_zero_has_no_direction():
    row = compare_cases(*binary_runs(20, 2, 3, 5))
    assert row["interval"][0] < 0 < row["interval"][1] and row["direction"] is None and row["p_value"] == 1.0


def test_a_change_the_exact_test_cannot_confirm_is_not_called_even_when_newcombe_excludes_zero():
    first, second = binary_runs(3, 0, 3, 4)  # 3 fixed, none broken, of 10
    row = compare_cases(first, second)
    assert row["interval"][0] > 0  # Newcombe: about +1 to +51 pp
    assert row["p_value"] == pytest.approx(exact_mcnemar(3, 0)) == pytest.approx(0.25)
    assert row["direction"] is None  # a coloured Δ next to p = 0.25 would contradict itself


def test_identical_runs_differ_by_nothing_with_an_interval_that_is_not_a_point():
    row = compare_cases(*binary_runs(20, 0, 0, 0))  # every case passes in both
    assert row["difference"] == 0 and row["p_value"] == 1.0 and row["direction"] is None
    assert row["interval"][0] < 0 < row["interval"][1]


def test_with_several_epochs_a_paired_bootstrap_over_cases_gives_the_interval_and_p():
    rng = np.random.default_rng(5)
    first = {f"c{i}": (int(rng.binomial(3, 0.6)), 3) for i in range(40)}
    second = {key: (min(3, p + int(rng.random() < 0.5)), 3) for key, (p, _) in first.items()}  # some cases gain a pass
    row = compare_cases(first, second, seed=11)
    differences = np.array([second[k][0] / 3 - first[k][0] / 3 for k in sorted(first)])
    assert row["method"] == "paired_bootstrap" and row["difference"] == pytest.approx(differences.mean())
    # the bootstrap done here, independently: resample cases, take the 2.5% and 97.5% points
    draws = np.random.default_rng(11).integers(0, 40, size=(4000, 40))
    means = differences[draws].mean(axis=1)
    assert row["interval"] == [pytest.approx(np.quantile(means, 0.025)), pytest.approx(np.quantile(means, 0.975))]
    # p: the paired sign-flip test, done here by Monte Carlo over random sign patterns (the stats module's is exact
    # up to 16 changed cases and seeded beyond, so the two agree to Monte Carlo error)
    changed = differences[differences != 0]
    flips = np.random.default_rng(0).choice([-1, 1], size=(200_000, len(changed))) @ changed
    assert row["p_value"] == pytest.approx((np.abs(flips) >= abs(changed.sum()) - 1e-9).mean(), abs=0.003)
    assert row["direction"] == "better" and row["p_value"] < 0.01
    assert compare_cases(first, second, seed=11) == row  # the same seed, the same answer


def test_a_single_case_or_two_that_moved_with_several_epochs_decide_nothing():
    # every changed case moved the same way, so each resampled mean does too: the bootstrap alone would say p = 0
    one = compare_cases({"a": (2, 3)}, {"a": (0, 3)})
    assert one["method"] == "paired_bootstrap" and one["p_value"] == 1.0 and one["direction"] is None
    two = compare_cases({"a": (3, 3), "b": (3, 3)}, {"a": (0, 3), "b": (1, 3)})
    assert two["p_value"] == pytest.approx(0.5) and two["direction"] is None


def test_the_bootstrap_p_of_a_difference_centred_on_zero_is_large():
    (low, high), p = paired_bootstrap(np.array([0.5, -0.5] * 20), seed=3)
    assert low < 0 < high and p > 0.5


def test_runs_that_share_no_graded_case_cannot_be_compared():
    assert compare_cases({"a": (1, 1)}, {"b": (1, 1)}) is None
    assert compare_cases({"a": (1, 1)}, {"a": (0, 0)}) is None  # only errors in the second run
    assert compare_cases({}, {}) is None


def test_one_shared_case_is_compared_without_nan():
    row = compare_cases({"a": (0, 1), "x": (1, 1)}, {"a": (1, 1)})
    assert row["cases"] == 1 and row["difference"] == 1.0 and all(math.isfinite(v) for v in row["interval"])
    assert row["p_value"] == 1.0 and row["direction"] is None


def test_one_shared_case_with_several_epochs_has_the_whole_range_as_its_interval():
    row = compare_cases({"a": (3, 3)}, {"a": (1, 3)})  # a resample of one case is always that case
    assert row["method"] == "paired_bootstrap" and row["difference"] == pytest.approx(-2 / 3)
    assert row["interval"] == [-1.0, 1.0] and row["direction"] is None


# --- runs through the API and the page -------------------------------------------------------------


@pytest.fixture
def persona(generate) -> Persona:
    return Persona.objects.get(public_id=generate().json()["id"])


def planted(before: str, after: str, count: int = 15) -> tuple[dict, dict]:
    keys = [f"persona.{i}" for i in range(count)] + [f"floor.{i}" for i in range(5)]
    return ({k: before if k.startswith("persona") else "p" for k in keys}, {k: after if k.startswith("persona") else "p" for k in keys})


def test_the_api_compares_two_runs_overall_and_per_layer(owner_api, persona):
    before, after = planted("f", "p")
    first, second = completed_run(persona, before), completed_run(persona, after)
    response = owner_api.get(f"/v1/eval-runs/{first.public_id}/compare/{second.public_id}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["first"]["id"] == str(first.public_id) and data["second"]["id"] == str(second.public_id)
    assert data["shared_cases"] == 20 and data["only_first"] == data["only_second"] == 0
    rows = {row["scope"]: row for row in data["rows"]}
    assert list(rows) == ["overall", "floor", "persona"]
    persona_row = rows["persona"]
    assert (persona_row["first_rate"], persona_row["second_rate"], persona_row["difference"]) == (0.0, 1.0, 1.0)
    assert persona_row["improved"] == 15 and persona_row["p_value"] == pytest.approx(binomtest(15, 15).pvalue)
    assert persona_row["direction"] == "better" and persona_row["method"] == "mcnemar"
    floor_row = rows["floor"]
    assert floor_row["difference"] == 0 and floor_row["direction"] is None and floor_row["p_value"] == 1.0
    assert rows["overall"]["difference"] == pytest.approx(15 / 20)

    backwards = owner_api.get(f"/v1/eval-runs/{second.public_id}/compare/{first.public_id}").json()
    assert {row["scope"]: row["direction"] for row in backwards["rows"]}["persona"] == "worse"


def test_runs_with_several_epochs_use_the_paired_bootstrap_and_count_cases_only_in_one_run(owner_api, persona):
    first = completed_run(persona, {"persona.1": "ppf", "persona.2": "fff", "persona.3": "ppp", "persona.4": "eee"})
    second = completed_run(persona, {"persona.1": "ppp", "persona.2": "pff", "persona.3": "ppp", "persona.5": "ppp"})
    data = owner_api.get(f"/v1/eval-runs/{first.public_id}/compare/{second.public_id}").json()
    assert data["shared_cases"] == 3 and data["only_first"] == 0 and data["only_second"] == 1  # persona.4: only errors
    overall = data["rows"][0]
    assert overall["method"] == "paired_bootstrap" and overall["difference"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert (overall["improved"], overall["regressed"], overall["unchanged"]) == (2, 0, 1)


def test_runs_that_share_no_graded_case_get_409_with_a_reason(owner_api, persona):
    first, second = completed_run(persona, {"persona.1": "p"}), completed_run(persona, {"closure.1": "p"})
    response = owner_api.get(f"/v1/eval-runs/{first.public_id}/compare/{second.public_id}")
    assert response.status_code == 409 and "share no case graded in both" in response.json()["detail"]


def test_an_unfinished_run_cannot_be_compared(owner_api, persona):
    done = completed_run(persona, {"persona.1": "p"})
    queued = EvalRun.objects.create(organization=persona.organization, persona=persona, version=persona.current_version)
    response = owner_api.get(f"/v1/eval-runs/{done.public_id}/compare/{queued.public_id}")
    assert response.status_code == 409 and "only completed runs can be compared" in response.json()["detail"]


def test_an_outsider_gets_404_for_either_run_even_beside_their_own(persona, outsider_tenant, api_for, generate):
    acme_run = completed_run(persona, {"persona.1": "p"})
    outsider_api = api_for(outsider_tenant.org)
    theirs = Persona.objects.get(public_id=generate(client=outsider_api).json()["id"])
    their_run = completed_run(theirs, {"persona.1": "f"})
    assert outsider_api.get(f"/v1/eval-runs/{their_run.public_id}/compare/{their_run.public_id}").status_code == 200
    for path in (f"/v1/eval-runs/{acme_run.public_id}/compare/{acme_run.public_id}",
                 f"/v1/eval-runs/{their_run.public_id}/compare/{acme_run.public_id}",
                 f"/v1/eval-runs/{acme_run.public_id}/compare/{their_run.public_id}"):
        response = outsider_api.get(path)
        assert response.status_code == 404 and str(acme_run.public_id) not in response.content.decode()


def test_the_evals_tab_offers_compare_and_renders_the_comparison(tenant, client_for, persona):
    before, after = planted("f", "p")
    first, second = completed_run(persona, before), completed_run(persona, after)
    client = client_for(tenant.user("viewer"))  # reading is enough
    page = client.get(f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/").content.decode()
    assert 'data-testid="compare-form"' in page and f'value="{first.public_id}"' in page

    url = f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/compare/?first={first.public_id}&second={second.public_id}"
    partial = client.get(url, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.startswith('<section id="eval-compare"') and "<html" not in body
    assert 'data-scope="persona" data-direction="better"' in body and 'class="num delta up">+100.0 pp' in body
    assert 'data-scope="floor" data-direction=""' in body and 'class="num delta">+0.0 pp' in body  # not coloured
    full = client.get(url)
    assert full.status_code == 200 and "<html" in full.content.decode() and 'data-testid="compare-table"' in full.content.decode()


def test_the_compare_page_says_what_is_missing(tenant, client_for, persona):
    client = client_for(tenant.owner)
    base = f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/compare/"
    assert 'data-testid="compare-error"' in client.get(base).content.decode()
    only_one = client.get(base, {"first": str(completed_run(persona, {"persona.1": "p"}).public_id)})
    assert only_one.status_code == 422 and "pick two completed runs" in only_one.content.decode()
    assert client.get(base, {"first": "nope", "second": "nope"}).status_code == 404
    first, second = completed_run(persona, {"persona.1": "p"}), completed_run(persona, {"closure.1": "p"})
    unrelated = client.get(base, {"first": str(first.public_id), "second": str(second.public_id)}, HTTP_HX_REQUEST="true")
    assert unrelated.status_code == 409 and "share no case graded in both" in unrelated.content.decode()
