"""Reconcile and list on each store (local, S3 on moto, GCS on its emulator), with the real
pipeline: every byte pulled is archived, quarantined or pending, and each kind of gap is found
and fails the command."""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bankgate.cli import main
from bankgate.config import PipelineConfig, Route
from bankgate.ledger import Root, index, open_root
from bankgate.ledger.reconcile import reconcile
from bankgate.pipeline import Pipeline, StagedObject
from bankgate.sftp import PullLedger, RemoteFile
from bankgate.store import ObjectStore, open_url

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "nacha"
GOOD = (SAMPLES / "payroll-ppd-ccd.ach").read_bytes()
BAD = (SAMPLES / "payroll-amount-edited-after-controls.ach").read_bytes()
DAY = "2026-11-23"
MTIME = calendar.timegm((2026, 11, 23, 12, 0, 0))


@dataclass
class Env:
    tmp: Path
    pipeline: Pipeline
    staging: ObjectStore
    root: Root
    pulls: PullLedger
    staging_url: str
    ledger_url: str

    def pull(self, name: str, data: bytes) -> str:
        """What a pull does, step by step (``bankgate.sftp.steps``): claim, link, land, record."""
        remote = RemoteFile(f"/outbound/{name}", len(data), MTIME)
        claim = self.pulls.claim("acme", remote).claim
        assert claim is not None
        key = f"inbound/acme/{DAY}/{name}"
        url = self.staging.url_of(key)
        self.pulls.link("acme", remote, url, DAY)
        self.staging.put_bytes(key, data)
        self.pulls.record(claim, sha256=hashlib.sha256(data).hexdigest(), key=key, url=url, day=DAY)
        return key

    def process(self, key: str) -> None:
        self.pipeline.process(StagedObject(key))

    def reconcile(self):
        return reconcile(self.root, "acme", date(2026, 11, 23), date(2026, 11, 23), staging=self.staging_url)

    def delete(self, url: str) -> None:
        """Remove one object by its URL (a ``file://`` URL is a path: its store is the folder)."""
        if url.startswith("file://"):
            Path(url.removeprefix("file://")).unlink()
            return
        store, key = open_url(url)
        store.delete(key)


def _urls(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The stores' URLs for one test: folders, or fresh buckets on moto or the GCS emulator."""
    if request.param == "local":
        return {
            role: f"file://{tmp_path}/{role}" for role in ("staging", "archive", "quarantine", "ledger", "processed")
        }
    suffix = uuid.uuid4().hex[:8]
    buckets = {"staging": f"staging-{suffix}", "archive": f"archive-{suffix}", "processed": f"processed-{suffix}"}
    if request.param == "s3":
        import boto3

        from tests.fixtures.clouds import point_aws_at

        point_aws_at(request.getfixturevalue("moto_url"), request.getfixturevalue("monkeypatch"))
        client, scheme = boto3.client("s3"), "s3"
        for bucket in buckets.values():
            client.create_bucket(Bucket=bucket)
    else:
        request.getfixturevalue("monkeypatch").setenv("STORAGE_EMULATOR_HOST", request.getfixturevalue("gcs_emulator"))
        from bankgate.store.gcs import default_client

        gcs, scheme = default_client(), "gs"
        for bucket in buckets.values():
            gcs.create_bucket(bucket)
    archive = f"{scheme}://{buckets['archive']}"
    return {
        "staging": f"{scheme}://{buckets['staging']}",
        "archive": f"{archive}/originals/",
        "quarantine": f"{archive}/quarantine/",
        "ledger": f"{archive}/ledger/",
        "processed": f"{scheme}://{buckets['processed']}/",
    }


@pytest.fixture(
    params=[
        "local",
        pytest.param("s3", marks=pytest.mark.integration),
        pytest.param("gcs", marks=pytest.mark.integration),
    ]
)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    urls = _urls(request, tmp_path)
    config = PipelineConfig(
        staging=urls["staging"],
        archive=urls["archive"],
        quarantine=urls["quarantine"],
        ledger=urls["ledger"],
        routes={"*": Route(urls["processed"])},
    )
    pipeline = Pipeline(config)
    root = open_root(urls["ledger"])
    staging, _ = open_url(urls["staging"])
    pulls = PullLedger(root.store, root.prefix + "sftp/", root=root)
    return Env(tmp_path, pipeline, staging, root, pulls, urls["staging"], urls["ledger"])


@pytest.fixture
def three(env: Env) -> dict[str, str]:
    """A processed file, a quarantined one and one pulled but not yet processed."""
    keys = {"good": env.pull("good.ach", GOOD), "bad": env.pull("bad.ach", BAD), "later": env.pull("later.ach", GOOD)}
    env.process(keys["good"])
    env.process(keys["bad"])
    return keys


def test_every_byte_is_accounted_for_when_nothing_is_missing(
    env: Env, three: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    result = env.reconcile()
    assert result.gaps == []
    assert result.files == {"archived": 1, "quarantined": 1, "pending": 1}
    assert result.bytes == {"archived": len(GOOD), "quarantined": len(BAD), "pending": len(GOOD)}
    args = ["ledger", "reconcile", "--ledger", env.ledger_url, "--bank", "acme", "--from", DAY, "--to", DAY]
    assert main([*args, "--staging", env.staging_url]) == 0
    out = capsys.readouterr().out
    assert f"3 file(s), {2 * len(GOOD) + len(BAD):,} bytes" in out and "no gaps" in out
    assert "\x1b[" not in out  # no colour when piped


def test_each_kind_of_gap_is_found_and_fails_the_command(
    env: Env, three: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    staging = env.staging
    staging.put_bytes(f"inbound/acme/{DAY}/stray.ach", b"dropped by hand")  # no origin, no record
    staging.delete(three["later"])  # pulled, never processed, and gone from staging
    [good] = [r for r in env.pipeline.ledger.records() if r.source.endswith("good.ach")]
    [bad] = [r for r in env.pipeline.ledger.records() if r.source.endswith("bad.ach")]
    env.delete(good.archived_to)  # its outputs remain
    env.delete(bad.archived_to)
    day_index = env.root.prefix + index.key("acme", DAY)  # lose one entry of the index
    doc = json.loads(env.root.store.read_bytes(day_index))
    del doc["files"][good.source]
    env.root.store.put_bytes(day_index, json.dumps(doc).encode())

    gaps = {(g.kind, g.url.rsplit("/", 1)[-1]) for g in env.reconcile().gaps}
    assert gaps == {
        ("unrecorded", "stray.ach"),
        ("vanished", "later.ach"),
        ("orphan-outputs", "good.ach"),
        ("unindexed", "good.ach"),
        ("vanished", "bad.ach"),
    }
    args = ["ledger", "reconcile", "--ledger", env.ledger_url, "--bank", "acme", "--from", DAY, "--to", DAY]
    assert main([*args, "--staging", env.staging_url, "--output", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and len(report["gaps"]) == 5


def test_a_day_lists_as_a_table_json_or_csv_and_filters_by_state(
    env: Env, three: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["ledger", "list", "--ledger", env.ledger_url, "--bank", "acme", "--day", DAY]
    assert main(base) == 0
    table = capsys.readouterr()
    lines = table.out.splitlines()
    assert lines[0].split()[:5] == ["NAME", "STATE", "TYPE", "SIZE", "RECORDS"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["bad.ach", "quarantined"],
        ["good.ach", "done"],
        ["later.ach", "staged"],
    ]
    assert "3 file(s)" in table.err and "\x1b[" not in table.out

    assert main([*base, "--state", "quarantined", "--output", "json"]) == 0
    [bad] = json.loads(capsys.readouterr().out)
    assert bad["name"] == "bad.ach" and bad["type"] == "nacha" and "nacha.batch.total_credit_mismatch" in bad["codes"]
    assert "total_credit" in bad["reason"]

    assert main([*base, "--output", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    good = next(r for r in rows if r["name"] == "good.ach")
    assert good["state"] == "done" and good["type"] == "nacha" and int(good["records"]) > 0
    assert json.loads(good["totals"])["total_credit"] > 0 and good["sha256"] == hashlib.sha256(GOOD).hexdigest()


def test_show_finds_a_file_by_name_and_says_so_when_it_is_unknown(
    env: Env, three: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "show", "--ledger", env.ledger_url, "bad.ach", "--output", "json"]) == 0
    [story] = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in story["stages"]] == ["pulled", "staged", "processing", "quarantined"]
    assert story["stages"][0]["detail"]["path"] == "/outbound/bad.ach"
    assert main(["ledger", "show", "--ledger", env.ledger_url, "nothing.ach"]) == 1
    assert "nothing.ach: not in the ledger" in capsys.readouterr().err


def test_without_a_root_the_command_says_how_to_name_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BANKGATE_LEDGER", raising=False)
    monkeypatch.delenv("BANKGATE_CONFIG", raising=False)
    assert main(["ledger", "list", "--bank", "acme", "--day", DAY]) == 2
    assert "pass --ledger URL" in capsys.readouterr().err
    assert index.key("acme", DAY) == f"index/acme/{DAY}.json"
