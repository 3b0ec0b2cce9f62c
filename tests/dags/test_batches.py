"""How the selected files are grouped into batches for the mapped transfer -> verify -> post_pull."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bankgate import lease
from bankgate.plugins.bankgate_airflow.batches import BATCH_BYTES, MAX_BATCHES, _counting, file_results, make_batches
from bankgate.plugins.bankgate_airflow.steps import CONFLICTS, _report
from bankgate.store.local import LocalStore

MiB = 1 << 20


def files(sizes: list[int]) -> list[dict]:
    return [{"bank": "acme", "path": f"/out/f{i:06}.ach", "size": s} for i, s in enumerate(sizes)]


def test_no_files_no_batches() -> None:
    assert make_batches([], 4) == []


def test_a_few_files_spread_over_the_concurrency() -> None:
    batches = make_batches(files([10, 20]), 4)
    assert [len(b["files"]) for b in batches] == [1, 1]
    assert batches[0]["label"] == "1 file: f000000.ach" and batches[0]["bank"] == "acme"


def test_a_backlog_of_small_files_goes_in_batches_of_a_hundred() -> None:
    batches = make_batches(files([10_000] * 5000), 4)
    assert [len(b["files"]) for b in batches] == [100] * 50
    assert batches[1]["label"].startswith("100 files: f000100.ach, f000101.ach")
    assert len(batches[1]["label"]) <= 120


def test_the_batch_count_stays_under_airflows_mapping_limit() -> None:
    batches = make_batches(files([1_000] * 200_000), 4)
    assert len(batches) <= MAX_BATCHES < 1024


def test_large_files_go_alone() -> None:
    sizes = [300 * MiB, 1 * MiB, 1 * MiB, 255 * MiB, 2 * MiB]
    batches = make_batches(files(sizes), 1)
    assert [[f["size"] for f in b["files"]] for b in batches] == [[300 * MiB], [MiB, MiB], [255 * MiB], [2 * MiB]]


@given(st.lists(st.integers(0, 600 * MiB), max_size=400), st.integers(1, 32))
def test_every_file_once_in_listing_order_within_the_bounds(sizes: list[int], concurrency: int) -> None:
    items = files(sizes)
    batches = make_batches(items, concurrency)
    assert [f for b in batches for f in b["files"]] == items
    assert len(batches) <= MAX_BATCHES
    for b in batches:
        assert len(b["files"]) == 1 or sum(f["size"] for f in b["files"]) <= BATCH_BYTES
        assert len(b["files"]) <= 100


def test_results_of_failed_batches_are_left_out() -> None:
    done = {"bank": "acme", "label": "x", "files": [{"path": "/a", "key": "k"}]}
    assert file_results([done, None]) == [{"path": "/a", "key": "k"}]


def test_a_files_ledger_conflicts_add_up_over_its_steps_into_the_runs_report(tmp_path: Path) -> None:
    """Each step of a file counts the compare-and-swap rounds it lost (``lease.TALLY``): here
    another writer changes the record between each step's read and its write, once per step."""
    store = LocalStore(tmp_path)
    store.create("ledger/record.json", b"0")

    def contended_step(item: dict[str, Any]) -> dict[str, Any]:
        interfered: list[bool] = []

        def change(current: lease.Current | None) -> tuple[bytes, None]:
            assert current is not None
            if not interfered:  # another worker writes between this read and this write
                interfered.append(True)
                assert store.replace("ledger/record.json", b"theirs", etag=current.etag) is not None
            return b"mine", None

        lease.swap(store, "ledger/record.json", change)
        return dict(item)

    transferred = _counting(contended_step, {"bank": "acme", "path": "/out/a.ach"})
    verified = _counting(contended_step, transferred)
    calm = _counting(lambda item: dict(item), {"bank": "acme", "path": "/out/b.ach"})
    assert (transferred[CONFLICTS], verified[CONFLICTS], CONFLICTS in calm) == (1, 2, False)
    report = _report("acme", None, {}, {}, [verified, calm], {})
    assert report[CONFLICTS] == 2
