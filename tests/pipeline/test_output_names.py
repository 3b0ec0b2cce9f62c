"""Distinct sources never overwrite each other's outputs: output names are deterministic,
collision-free and recorded in the ledger (moto over HTTP, S3 -> SQS notifications)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from bankgate.lambdas.process import handler

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()


def payroll_of(marker: str) -> bytes:
    """A valid NACHA file of its own: the company name (free text) says which source it is."""
    assert len(marker) == len("ACME CORP")
    return PAYROLL.replace(b"ACME CORP", marker.encode())


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def test_distinct_sources_never_share_an_output(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.core.pgp_helpers import make_encrypted_fixture

    ciphertext, secret, passphrase = make_encrypted_fixture(payroll_of("SOURCE02X"), tmp_path)
    monkeypatch.setenv("BANKGATE_PGP_KEYS", secret)
    monkeypatch.setenv("BANKGATE_PGP_PASSPHRASE", passphrase)
    sources = {
        "inbound/acme/2026-11-23/x.ach": ("SOURCE01X", payroll_of("SOURCE01X")),
        "inbound/acme/2026-11-23/x.ach.pgp": ("SOURCE02X", ciphertext.read_bytes()),  # decrypts to "x.ach"
        "inbound/acme/2026-11-23/bundle.zip": ("SOURCE03X", zipped("x.ach", payroll_of("SOURCE03X"))),
        "inbound/acme/2026-11-23/bundle.zip/x.ach": ("SOURCE04X", payroll_of("SOURCE04X")),  # spells the member
        "inbound/other/2026-11-23/x.ach": ("SOURCE05X", payroll_of("SOURCE05X")),  # the name from another bank
        "inbound/acme/2026-11-24/x.ach": ("SOURCE06X", payroll_of("SOURCE06X")),  # re-sent the next day
    }
    for key, (_, body) in sources.items():
        aws.s3.put_object(Bucket=aws.staging, Key=key, Body=body)
        aws.drain(handler)  # one at a time, in this order: the plain names are taken first
    assert aws.keys(aws.staging) == []
    records = {r["source"].removeprefix(f"s3://{aws.staging}/"): r for r in ledger(aws)}
    assert set(records) == set(sources) and {r["state"] for r in records.values()} == {"done"}
    outputs = {key: [o["url"] for o in record["outputs"]] for key, record in records.items()}
    assert all(len(urls) == 1 for urls in outputs.values())
    names = [urls[0].removeprefix(f"s3://{aws.processed}/") for urls in outputs.values()]
    assert len(set(names)) == len(sources)  # one output each, none shared
    assert sorted(names) == aws.keys(aws.processed)  # and nothing else written
    assert outputs["inbound/acme/2026-11-23/x.ach.pgp"] == [
        f"s3://{aws.processed}/nacha/acme/2026-11-23/x.ach.pgp/x.ach.jsonl"
    ]
    [beside] = outputs["inbound/acme/2026-11-23/bundle.zip/x.ach"]  # the second to come writes beside
    assert beside.startswith(f"s3://{aws.processed}/nacha/acme/2026-11-23/bundle.zip/x.ach~")
    for key, (marker, _) in sources.items():
        body = aws.s3.get_object(Bucket=aws.processed, Key=outputs[key][0].removeprefix(f"s3://{aws.processed}/"))
        assert marker.encode() in body["Body"].read(), key  # each output holds its own source's records
    # Deterministic: the same source processed again writes the very same object.
    again = "inbound/acme/2026-11-23/bundle.zip/x.ach"
    aws.s3.put_object(Bucket=aws.staging, Key=again, Body=payroll_of("SOURCE04X"))
    aws.drain(handler)
    [record] = [r for r in ledger(aws) if r["source"].endswith(again)]
    assert [o["url"] for o in record["outputs"]] == outputs[again]
    assert sorted(names) == aws.keys(aws.processed)


def ledger(aws) -> list[dict]:
    return [
        json.loads(aws.s3.get_object(Bucket=aws.archive, Key=k)["Body"].read())
        for k in aws.keys(aws.archive, "ledger/")
    ]
