"""Reprocessing a quarantined file (``bankgate.reprocess``) on moto S3 and a local directory:
its old quarantine copy and ``.error.json`` leave quarantine for its history only after the new
outcome is recorded and its archived copy verified; the journey shows old attempt -> new
attempt; and the S3 event the restaged copy causes, duplicated, reordered or racing the
reprocess in another worker, never gets the file processed twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bankgate import reprocess
from bankgate.config import PipelineConfig, Route
from bankgate.ledger import Root
from bankgate.ledger.journey import journey
from bankgate.pipeline import REPORT_SUFFIX, Pipeline, StagedObject
from bankgate.store import open_url

ROOT = Path(__file__).resolve().parents[2]
BAD = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()
CODES = frozenset({"nacha.batch.total_credit_mismatch", "nacha.file.total_credit_mismatch"})
KEY = "inbound/acme/2026-11-23/payroll.ach"
QUARANTINED = "acme/2026-11-23/payroll.ach"  # below the quarantine prefix


@dataclass
class World:
    """One store kind's staging, archive, quarantine and ledger, and pipelines over them."""

    urls: dict[str, str]
    put: Callable[[str, bytes], str]  # staging key, bytes -> etag

    def keys(self, name: str) -> list[str]:
        """The keys below ``name``'s prefix ("staging", "archive", "quarantine"), as its store lists them."""
        store, prefix = open_url(self.urls[name])
        return sorted(k for i in store.list(prefix) if not (k := i.key[len(prefix) :]).startswith("bankgate-"))

    def pipeline(self, *, waived: bool) -> Pipeline:
        waivers = {self.urls["staging"] + "/": CODES} if waived else {}
        routes = {"*": Route(self.urls["processed"])}
        stores = {k: self.urls[k] for k in ("staging", "archive", "quarantine", "ledger")}
        return Pipeline(PipelineConfig(**stores, routes=routes, waivers=waivers))

    @property
    def url(self) -> str:
        return f"{self.urls['staging']}/{KEY}"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "local":
        for name in ("staging", "archive", "quarantine", "ledger", "processed"):
            (tmp_path / name).mkdir()
        urls = {name: f"file://{tmp_path}/{name}" for name in ("staging", "archive", "quarantine", "ledger")}
        urls |= {"processed": f"file://{tmp_path}/processed/", "archive": f"file://{tmp_path}/archive/"}
        urls["quarantine"] += "/"
        urls["ledger"] += "/"

        def put(key: str, data: bytes) -> str:
            (tmp_path / "staging" / key).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "staging" / key).write_bytes(data)
            return ""

        yield World(urls, put)
        return
    aws = request.getfixturevalue("aws")
    urls = {
        "staging": f"s3://{aws.staging}",
        "archive": f"s3://{aws.archive}/originals/",
        "quarantine": f"s3://{aws.archive}/quarantine/",
        "ledger": f"s3://{aws.archive}/ledger/",
        "processed": f"s3://{aws.processed}/",
    }

    def s3_put(key: str, data: bytes) -> str:
        aws.s3.put_object(Bucket=aws.staging, Key=key, Body=data)
        return str(aws.s3.head_object(Bucket=aws.staging, Key=key)["ETag"]).strip('"')

    yield World(urls, s3_put)


def _quarantine(world: World) -> None:
    etag = world.put(KEY, BAD)
    outcome = world.pipeline(waived=False).process(StagedObject(KEY, etag=etag, sequencer="0055AED6DCD90281E5"))
    assert outcome.status == "quarantined" and "total_credit" in outcome.reason
    assert world.keys("quarantine") == [QUARANTINED, QUARANTINED + REPORT_SUFFIX]


def _history(world: World) -> list[str]:
    base = reprocess.HISTORY_PREFIX + QUARANTINED + "~attempt-1"
    return [base, base + REPORT_SUFFIX]


def test_a_reprocessed_files_quarantine_copy_moves_to_history_and_the_journey_shows_both_attempts(
    world: World,
) -> None:
    _quarantine(world)
    pipeline = world.pipeline(waived=True)

    result = reprocess.reprocess_one(pipeline, world.url)

    assert (result["before"], result["status"], result["type"]) == ("quarantined", "processed", "nacha")
    assert world.keys("staging") == [] and world.keys("archive") == [QUARANTINED]
    assert world.keys("quarantine") == _history(world)  # nothing left that looks like a live problem
    history = pipeline.quarantine
    old_copy = history.read_bytes(pipeline.quarantine_prefix + _history(world)[0])
    assert old_copy == BAD  # the original, kept byte for byte
    report = history.read_bytes(pipeline.quarantine_prefix + _history(world)[1])
    assert b"total_credit" in report
    assert result["retired"] == {
        "original": history.url_of(pipeline.quarantine_prefix + _history(world)[0]),
        "report": history.url_of(pipeline.quarantine_prefix + _history(world)[1]),
    }
    record, _etag = pipeline.ledger.get(world.url)
    assert (record.state, record.attempts, record.forced) == ("done", 2, True)
    (earlier,) = record.history
    assert (earlier["attempts"], earlier["state"]) == (1, "quarantined") and "total_credit" in earlier["reason"]
    assert earlier["retired_to"] == result["retired"]

    story = journey(Root(pipeline.ledger.store, pipeline.ledger.prefix), world.url)
    assert story is not None
    assert [s.name for s in story.stages] == ["staged", "processing", "quarantined", "processing", "processed"]
    old, new = story.stages[2], story.stages[3]
    assert old.detail["quarantined_to"] == result["retired"]["original"] and old.detail["retired"]
    assert old.detail["report"] == result["retired"]["report"]
    assert new.detail["forced"] and new.detail["attempts"] == 2
    assert story.stages[4].detail["archived_to"] == pipeline.archive.url_of(pipeline.archive_prefix + QUARANTINED)


def test_the_quarantine_copy_stays_until_the_archived_copy_is_verified(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _quarantine(world)
    pipeline = world.pipeline(waived=True)
    old, _etag = pipeline.ledger.get(world.url)
    with monkeypatch.context() as patched:
        patched.setattr(reprocess, "retire", lambda *_args: {})  # the run ends before it retires
        assert reprocess.reprocess_one(pipeline, world.url)["status"] == "processed"
    archived = pipeline.archive_prefix + QUARANTINED
    good = pipeline.archive.read_bytes(archived)
    meta = pipeline.archive.info(archived).metadata

    pipeline.archive.delete(archived)  # the archived copy is gone
    assert "kept" in reprocess.retire(pipeline, world.url, old)
    pipeline.archive.put_bytes(archived, good + b"\n", metadata=meta)  # or holds other bytes
    assert "kept" in reprocess.retire(pipeline, world.url, old)
    assert world.keys("quarantine") == [QUARANTINED, QUARANTINED + REPORT_SUFFIX]  # nothing lost

    pipeline.archive.put_bytes(archived, good, metadata=meta)
    assert "retired" in reprocess.retire(pipeline, world.url, old)
    assert world.keys("quarantine") == _history(world)
    assert reprocess.retire(pipeline, world.url, old) == {}  # once only


def _pause_processing(pipeline: Pipeline) -> tuple[threading.Event, threading.Event]:
    """Make ``pipeline`` stop inside processing (claim held) until released."""
    claimed, release = threading.Event(), threading.Event()
    original = pipeline._process_content

    def paused(*args: Any) -> Any:
        claimed.set()
        assert release.wait(30)
        return original(*args)

    pipeline._process_content = paused  # type: ignore[method-assign]
    return claimed, release


def _staged_etag(world: World, pipeline: Pipeline) -> str:
    info = pipeline.staging.info(KEY)
    assert info is not None
    return info.etag


def test_the_restaged_copys_event_first_then_duplicated_and_reordered_events_process_it_once(
    world: World,
) -> None:
    """The Lambda claims the restaged copy before the reprocess does: the forced claim waits
    (never takes the live lease) and reports that worker's outcome; then the copy's event again
    and the original upload's late event do nothing."""
    _quarantine(world)
    reprocessor, lam = world.pipeline(waived=True), world.pipeline(waived=True)
    claimed, release = _pause_processing(lam)
    statuses: list[str] = []
    process = reprocessor.process

    def process_after_the_event(obj: StagedObject, **kwargs: Any) -> Any:
        event = StagedObject(KEY, etag=_staged_etag(world, reprocessor), sequencer="0055AED6DCD90281F0")
        worker = threading.Thread(target=lambda: statuses.append(lam.process(event).status))
        worker.start()
        assert claimed.wait(30)
        threading.Timer(1.0, release.set).start()
        outcome = process(obj, **kwargs)
        statuses.append(f"reprocess: {outcome.status}")
        worker.join(30)
        return outcome

    reprocessor.process = process_after_the_event  # type: ignore[method-assign]
    result = reprocess.reprocess_one(reprocessor, world.url, wait_seconds=30)

    assert statuses == ["reprocess: busy", "processed"]
    assert result["status"] == "processed" and "another worker" in result["by"] and result["retired"]
    for sequencer in ("0055AED6DCD90281F0", "0055AED6DCD90281F0", "0055AED6DCD90281E5"):
        again = lam.process(StagedObject(KEY, sequencer=sequencer))  # duplicated, then the late original
        assert again.status == "duplicate"
    record, _etag = lam.ledger.get(world.url)
    assert record.attempts == 2 and [h["state"] for h in record.history] == ["quarantined"]
    assert world.keys("staging") == [] and world.keys("archive") == [QUARANTINED]
    assert world.keys("quarantine") == _history(world)


def test_an_event_during_the_reprocess_waits_and_then_finds_it_done(world: World) -> None:
    """The reprocess claims first: the restaged copy's event is busy (SQS redelivers it), then a
    duplicate; the original upload's late event is a duplicate too."""
    _quarantine(world)
    reprocessor, lam = world.pipeline(waived=True), world.pipeline(waived=True)
    during: list[str] = []
    original = reprocessor._process_content

    def with_the_event_arriving(obj: StagedObject, *args: Any) -> Any:
        event = StagedObject(KEY, etag=_staged_etag(world, reprocessor), sequencer="0055AED6DCD90281F0")
        during.append(lam.process(event).status)
        return original(obj, *args)

    reprocessor._process_content = with_the_event_arriving  # type: ignore[method-assign]
    result = reprocess.reprocess_one(reprocessor, world.url)

    assert during == ["busy"] and result["status"] == "processed" and "by" not in result
    later = [lam.process(StagedObject(KEY, sequencer=s)).status for s in ("0055AED6DCD90281F0",) * 2]
    late = lam.process(StagedObject(KEY, sequencer="0055AED6DCD90281E5")).status  # the original upload's
    assert [*later, late] == ["duplicate"] * 3
    record, _etag = lam.ledger.get(world.url)
    assert record.attempts == 2 and world.keys("quarantine") == _history(world)


def test_two_workers_and_the_reprocess_racing_on_the_restaged_copy_process_it_once(world: World) -> None:
    """The reprocess and two workers delivered the copy's event (at least once: twice) claim at
    the same moment: exactly one claim is granted; the others are busy or duplicates, and their
    redeliveries find it done."""
    _quarantine(world)
    reprocessor = world.pipeline(waived=True)
    workers = [world.pipeline(waived=True) for _ in range(2)]
    barrier = threading.Barrier(3)
    statuses: list[str] = []
    process = reprocessor.process

    def racing(obj: StagedObject, **kwargs: Any) -> Any:
        event = StagedObject(KEY, etag=_staged_etag(world, reprocessor), sequencer="0055AED6DCD90281F0")

        def deliver(worker: Pipeline) -> None:
            barrier.wait(30)
            statuses.append(worker.process(event).status)

        threads = [threading.Thread(target=deliver, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        barrier.wait(30)
        outcome = process(obj, **kwargs)
        for t in threads:
            t.join(60)
        statuses.append(outcome.status)
        return outcome

    reprocessor.process = racing  # type: ignore[method-assign]
    result = reprocess.reprocess_one(reprocessor, world.url, wait_seconds=60)

    assert result["status"] == "processed"
    assert statuses.count("processed") == 1, statuses
    assert set(statuses) <= {"processed", "busy", "duplicate", "missing"}, statuses
    record, _etag = reprocessor.ledger.get(world.url)
    assert record.attempts == 2, statuses  # one granted claim after the quarantining one
    redelivered = [w.process(StagedObject(KEY, sequencer="0055AED6DCD90281F0")).status for w in workers]
    assert redelivered == ["duplicate", "duplicate"]
    assert world.keys("staging") == [] and world.keys("archive") == [QUARANTINED]
