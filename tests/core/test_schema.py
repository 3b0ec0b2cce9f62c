"""One config-schema helper (``parsers/schema.py``): each of the five loaders reports every
problem of a document, each with its path, in its own error type."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bankgate.banks import load_banks
from bankgate.config import ConfigError, PipelineConfig
from bankgate.parsers.fixed import LayoutError, parse_layout
from bankgate.parsers.insurance import Limits, LimitsError, TemplateError
from bankgate.parsers.insurance.templates import load_template
from bankgate.parsers.schema import SchemaError


def three(err: pytest.ExceptionInfo[SchemaError], what: str) -> list[str]:
    """The three problem lines, after the summary line; ``problems`` holds the same lines."""
    summary, *lines = str(err.value).splitlines()
    assert summary == f"3 problems in {what}:"
    assert list(err.value.problems) == lines
    return lines


def test_bank_config(tmp_path: Path) -> None:
    path = tmp_path / "banks.toml"
    path.write_text(
        textwrap.dedent(
            """\
            [banks.x]
            conn_id = "x_sftp"
            remote_dirs = ["/out"]
            destination = "s3://staging/inbound/x/"
            cron = "every morning"
            concurrency = "22a"
            colour = "red"
            """
        )
    )
    with pytest.raises(ConfigError) as err:
        load_banks(path)
    lines = three(err, "the bank config")
    assert lines[0] == f"{path}: bank 'x': colour: unknown key" + lines[0].split("unknown key", 1)[1]
    assert any(line.startswith(f"{path}: bank 'x': cron: ") for line in lines)
    assert any(line.startswith(f"{path}: bank 'x': concurrency: must be a whole number") for line in lines)


def test_pipeline_config(tmp_path: Path) -> None:
    path = tmp_path / "bankgate.toml"
    path.write_text(
        textwrap.dedent(
            """\
            [pipeline]
            staging = "s3://staging"
            archive = "s3://a/o/"
            quarantine = "s3://a/q/"
            ledger = "s3://a/l/"
            verify = "md5"
            lease_seconds = 0
            [pipeline.routes]
            "*" = "s3://out/"
            nacha = { destination = "s3://out/nacha/", format = "xml" }
            """
        )
    )
    with pytest.raises(ConfigError) as err:
        PipelineConfig.from_toml(path)
    assert three(err, f"the pipeline config ({path})") == [
        f"{path}: routes.nacha: format 'xml' is not one of jsonl, csv, parquet",
        f"{path}: verify: use 'sha256' (re-read and hash the copy) or 'size'",
        f"{path}: lease_seconds: a whole number of at least 1, got 0",
    ]


LAYOUT = """\
name = "acme"
record_length = 10
encoding = "utf-9"

[records.item]
code = "I"
fields = [
  { name = "record_type", start = 1, length = 1, type = "const" },
  { name = "amount", start = 2, length = 5, type = "blob" },
  { name = "payee", start = 7, type = "text" },
]
"""


def test_fixed_width_layout() -> None:
    with pytest.raises(LayoutError) as err:
        parse_layout(LAYOUT, "acme.toml")
    assert three(err, "layout file acme.toml") == [
        "layout file acme.toml: encoding must be one of ascii, ebcdic, got 'utf-9'",
        "layout file acme.toml: record 'item' field 'amount': type must be one of "
        "text, digits, integer, number, amount, date, time, const, filler, got 'blob'",
        "layout file acme.toml: record 'item' field 'payee': needs 'length' (or 'end')",
    ]


def test_carrier_template(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(
        textwrap.dedent(
            """\
            name = "Acme Mutual"
            carrier = ""
            match = ["Acme"]
            [fields.policy_number]
            anchor = "Policy:"
            pattern = '(?P<value>\\S+)'
            """
        )
    )
    with pytest.raises(TemplateError) as err:
        load_template(path)
    assert three(err, f"template file {path}") == [
        f"template file {path}: name: must be a string of lowercase letters, digits, '-' or '_'",
        f"template file {path}: carrier: must be the carrier's name",
        f"template file {path}: fields.policy_number: needs exactly one of `anchor` (a label) or `pattern` "
        "(a regex with a `value` group)",
    ]


def test_pdf_limits() -> None:
    with pytest.raises(LimitsError) as err:
        Limits.parse(
            {"max_pages": "many", "cpu_seconds": 0, "max_pagez": 5}, name=lambda n: f"BANKGATE_PDF_{n.upper()}"
        )
    lines = three(err, "the PDF limits")
    assert lines[0].startswith("BANKGATE_PDF_MAX_PAGEZ: unknown PDF limit (expected one of max_bytes, max_pages")
    assert lines[1:] == [
        "BANKGATE_PDF_MAX_PAGES: not a number: 'many'",
        "BANKGATE_PDF_CPU_SECONDS: must be positive, got 0",
    ]
    assert isinstance(err.value, ValueError)  # what callers caught before


def test_one_problem_reads_as_before() -> None:
    """A single problem is one line, without the summary: the messages users know are kept."""
    fixed = LAYOUT.replace('"blob"', '"amount"').replace("start = 7,", "start = 7, length = 4,")
    with pytest.raises(LayoutError) as err:
        parse_layout(fixed, "x.toml")
    assert str(err.value) == "layout file x.toml: encoding must be one of ascii, ebcdic, got 'utf-9'"
    assert parse_layout(fixed.replace('"utf-9"', '"ascii"'), "x.toml").name == "acme"
