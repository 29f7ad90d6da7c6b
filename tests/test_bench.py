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
    ours = [s3_total(release.at(0.0).ours.requests[0]) for release in releases]
    # 8 was the target; the HTML copies' ETag looks make it 9, and the browse pages 15: the
    # project's browse page (a look, a write) and its line on the browse root (the catalog's
    # read, a look at the root page, two writes) (docs/benchmarks.md).
    assert ours[0] == ours[-1] == 15, f"one release cost {ours} requests at {results.plan.sizes}"
    for release in releases:
        observed = release.observed
        assert observed.requests == observed.requests_at_server, "the server's counter is off"
        assert max(observed.round_trips, observed.round_trips_at_server) <= 6, observed
        for runs in release.latencies:
            assert s3_total(runs.ours.requests[0]) == 15, "latency changed what publish sends"
            assert "ListObjectsV2" not in runs.ours.requests[0], "publish listed the bucket"
            if runs.latency:
                # The page and catalog read; files and looks; the metadata file; the JSON;
                # its copies and the catalog's line; the browse root page: 6 when no
                # request is sent late.
                assert max(runs.ours.round_trips) == 6, runs.ours.round_trips
            if runs.s3pypi is not None:  # None only where s3pypi could not be installed
                theirs = runs.s3pypi.requests[0]
                assert theirs["ListObjectsV2"] >= 1 and theirs["dynamodb:PutItem"] == 2

    many = results.many_packages
    for runs in many.latencies:
        # Per project: its page read, two files and a metadata file, its JSON and three
        # copies (a new page's copies need no look); the root page: a read, two looks,
        # three writes; the catalog: a read, a look, two writes; the browse pages' assets.
        assert s3_total(runs.ours.requests[0]) == 8 * many.packages + 12, runs.ours.requests
        if runs.latency:
            # Sixteen at a time: the 12 page reads and the catalog's; the 29 of the round of
            # files in 2; the metadata files beside the root's JSON, then its copies; the
            # 12 pages' JSON; their 36 copies in 3, beside the catalog's line; the browse
            # root page. That is 10 when no request is sent late; a busy machine sends some
            # late, but never most of them.
            trips = max(runs.ours.round_trips)
            assert 6 <= trips <= s3_total(runs.ours.requests[0]) // 4, runs.ours.round_trips
            if runs.s3pypi is not None:
                assert min(runs.s3pypi.round_trips) > trips

    start = results.start_up
    assert start.seconds and start.import_seconds > 0 and start.command

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
    assert "## Targets" in text and "## P5." in text and "## P6." in text
