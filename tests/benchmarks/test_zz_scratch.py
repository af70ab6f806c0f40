import cProfile, pstats, io
from tests.benchmarks.test_generation_bench import _bulk_personas, _offline_layers, BRIEF, LIST_URL

def test_profile(db, tenant, api_for):
    api = api_for(tenant.org)
    _bulk_personas(tenant.org, 1000, _offline_layers(BRIEF))
    api.get(LIST_URL)
    pr = cProfile.Profile(); pr.enable()
    for _ in range(30):
        api.get(LIST_URL)
    pr.disable()
    s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(30); print(s.getvalue())
    s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(50); print(s.getvalue())
