"""`invoke bench --quick` works: its figures are right, whatever its times.

One test, since the quick run is one run of every scenario (~40 s): split into several
tests, pytest-xdist could run it once per worker.
"""

from __future__ import annotations

from benchmarks.main import bench
from benchmarks.report import s3_total


def test_quick_benchmark_measures_what_it_claims() -> None:
    results, written = bench(quick=True, say=lambda _: None)

    releases = results.one_release
    ours = [s3_total(release.ours.requests[0]) for release in releases]
    # 8 was the target; the HTML copies' ETag looks make it 9, and the browse pages 15: the
    # project's browse page (a look, a write) and its line on the browse root (the catalog's
    # read, a look at the root page, two writes) (docs/benchmarks.md).
    assert ours[0] == ours[-1] == 15, f"one release cost {ours} requests at {results.plan.sizes}"
    for release in releases:
        assert release.observed == release.observed_at_server, "the server's counter is off"
        assert "ListObjectsV2" not in release.ours.requests[0], "publish listed the bucket"
        if release.s3pypi is not None:  # None only where s3pypi could not be installed
            theirs = release.s3pypi.requests[0]
            assert theirs["ListObjectsV2"] >= 1 and theirs["dynamodb:PutItem"] == 2

    reindex = results.reindex
    assert all(run.writes > 0 for run in reindex.rebuild), "the rebuild wrote no pages"
    assert [run.writes for run in reindex.noop] == [0] * len(reindex.noop)
    assert all(run.max_rss_bytes > 0 for run in reindex.rebuild)

    assert results.monorepo.same_wheels, "invoke publish and python -m build built other wheels"

    for resolution in results.resolution:
        if resolution.metadata_files:
            assert resolution.wheels_fetched == 0, f"{resolution.installer} fetched wheels"
        else:
            assert resolution.wheels_fetched >= results.plan.chain, resolution

    cold, warm = results.cold_start
    assert cold.cold and cold.cache_bytes > 0 and cold.packages > 0
    assert not warm.cold and warm.packages == cold.packages

    text = written.read_text()
    assert "## Targets" in text and "## P5." in text
