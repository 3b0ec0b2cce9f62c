"""Named waivers: a sender that breaks one rule for years is accepted without hiding it.

A waived rule is still reported, as a warning carrying its code; other rules still fail the
file; an unknown code is refused with the valid ones listed; lenient mode waives everything;
``enforce`` turns a rule that is a warning by default into an error. The switches moov-io/ach
offers map to bankgate codes (``parsers/nacha/rules.py`` names them).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import pytest

from bankgate.cli import main
from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.nacha import layouts as L
from bankgate.parsers.problems import ERROR, WARNING, ParseError
from bankgate.parsers.registry import open_parser, validate_enforced, validate_waivers
from tests.parsers.nacha_helpers import (
    DATA,
    batch,
    build,
    clean_file,
    delete_line,
    one_entry_batch,
    parse,
    parse_error,
    put_field,
    return_entry,
)

CHECK_DIGIT = "nacha.entry.check_digit"


def test_a_waived_rule_is_reported_as_a_warning_with_its_code() -> None:
    data = (DATA / "invalid-check-digit.ach").read_bytes()
    records, parser = parse(data, allow={CHECK_DIGIT})  # strict mode: does not raise
    assert len(records) == 12
    [problem] = parser.problems
    assert (problem.line, problem.code, problem.severity, problem.waived) == (3, CHECK_DIGIT, WARNING, True)
    assert str(problem).startswith(f"warning (waived {CHECK_DIGIT}): entry detail (6) field 'check_digit'")
    assert problem.as_dict()["waived"] is True


def test_a_waiver_waives_only_its_rule() -> None:
    data = put_field(
        (DATA / "invalid-check-digit.ach").read_bytes(), 7, L.BATCH_CONTROL, "odfi_identification", "99999999"
    )
    error = parse_error(data, allow={CHECK_DIGIT})
    assert [(p.code, p.severity) for p in error.problems] == [("nacha.batch.odfi_mismatch", ERROR)]


def test_an_unknown_code_is_refused_with_the_valid_codes() -> None:
    with pytest.raises(ValueError) as caught:
        NachaParser(io.BytesIO(clean_file()), allow={"nacha.entry.check_digits"})
    message = str(caught.value)
    assert "nacha.entry.check_digits" in message
    assert CHECK_DIGIT in message and "bai2.account.control_total" in message  # the valid codes, all formats


def test_validate_waivers_is_what_config_loading_calls() -> None:
    assert validate_waivers([CHECK_DIGIT, " bai2.account.control_total "]) == frozenset(
        {CHECK_DIGIT, "bai2.account.control_total"}
    )
    assert validate_waivers(CHECK_DIGIT) == frozenset({CHECK_DIGIT})  # one code, not its letters
    assert validate_waivers([]) == frozenset()
    with pytest.raises(ValueError, match="unknown rule code"):
        validate_waivers(["nacha.no_such_rule"])


def test_codes_of_another_format_do_nothing_here() -> None:
    """One bank's list serves all its files: a BAI2 waiver on a NACHA file is accepted, inert."""
    parser = open_parser("nacha", io.BytesIO(clean_file()), allow={"bai2.account.control_total"})
    assert list(parser) and parser.problems == []


def test_lenient_mode_waives_everything() -> None:
    data = put_field(
        (DATA / "invalid-check-digit.ach").read_bytes(), 7, L.BATCH_CONTROL, "odfi_identification", "99999999"
    )
    _, parser = parse(data, lenient=True)
    assert [(p.code, p.severity) for p in parser.problems] == [
        (CHECK_DIGIT, WARNING),
        ("nacha.batch.odfi_mismatch", WARNING),
    ]


def test_enforce_makes_a_default_warning_an_error() -> None:
    data = build(batch({}, effective_entry_date=date(2025, 12, 31)))  # stale: a warning by default
    error = parse_error(data, enforce={"nacha.batch.effective_date_stale"})
    assert [(p.code, p.severity) for p in error.problems] == [("nacha.batch.effective_date_stale", ERROR)]
    _, parser = parse(data, enforce={"nacha.batch.effective_date_stale"}, lenient=True)  # lenient still wins
    assert parser.problems[0].severity == WARNING


def test_only_default_warnings_can_be_enforced() -> None:
    assert validate_enforced(["nacha.batch.effective_date_invalid"]) == frozenset(
        {"nacha.batch.effective_date_invalid"}
    )
    with pytest.raises(ValueError, match="already error") as caught:
        validate_enforced([CHECK_DIGIT])
    assert "nacha.batch.effective_date_stale" in str(caught.value)  # lists what can be enforced


def _unordered_batches() -> bytes:
    return build(batch({}, batch_number=5), batch({}, batch_number=3))


MOOV_SWITCHES: list[tuple[str, tuple[str, ...], Callable[[], bytes]]] = [
    (
        "BypassOriginValidation",
        ("nacha.file.immediate_origin",),
        lambda: put_field(clean_file(), 1, L.FILE_HEADER, "immediate_origin", " 123456789"),
    ),
    (
        "BypassDestinationValidation",
        ("nacha.file.immediate_destination",),
        lambda: put_field(clean_file(), 1, L.FILE_HEADER, "immediate_destination", "BANK      "),
    ),
    ("AllowUnorderedBatchNumbers", ("nacha.batch.number_order",), _unordered_batches),
    ("AllowMissingFileHeader", ("nacha.file.header_missing",), lambda: delete_line(clean_file(), 1)),
    (
        "AllowMissingFileControl",
        ("nacha.file.control_missing",),
        lambda: (DATA / "missing-file-control.ach").read_bytes(),
    ),
    ("CustomReturnCodes", ("nacha.addenda.return_reason_code",), lambda: build(batch(return_entry("R97")))),
    (
        "UnequalServiceClassCode",
        ("nacha.batch.service_class_mismatch",),
        lambda: put_field(clean_file(), 7, L.BATCH_CONTROL, "service_class_code", "220"),
    ),
    (
        "BypassCompanyIdentificationMatch",
        ("nacha.batch.company_identification_mismatch",),
        lambda: put_field(clean_file(), 7, L.BATCH_CONTROL, "company_identification", "9999999999"),
    ),
    ("AllowInvalidCheckDigit", (CHECK_DIGIT,), lambda: (DATA / "invalid-check-digit.ach").read_bytes()),
    (
        "AllowEmptyIndividualName",
        ("nacha.entry.individual_name",),
        lambda: one_entry_batch("WEB", {"transaction_code": 27, "receiver_name": ""}),
    ),
    (
        "SkipBatchHeaderCompanyValidation",
        ("nacha.batch.company_name",),
        lambda: build(batch({}, company_name="0000")),
    ),
    (
        "AllowInvalidAmounts",
        ("nacha.entry.zero_amount",),
        lambda: build(batch({"transaction_code": 23, "amount": 150})),
    ),
]


@pytest.mark.parametrize(("switch", "allow", "make"), MOOV_SWITCHES, ids=[s[0] for s in MOOV_SWITCHES])
def test_moov_switches_map_to_waivers(switch: str, allow: tuple[str, ...], make: Callable[[], bytes]) -> None:
    data = make()
    error = parse_error(data)
    assert {p.code for p in error.problems} == set(allow), f"{switch}: {[p.code for p in error.problems]}"
    records, parser = parse(data, allow=set(allow))
    waived = [p for p in parser.problems if p.code in allow]
    assert records and len(waived) == len(error.problems)
    assert all(p.severity == WARNING and p.waived for p in waived)
    # Whatever else is reported (a record count that is no longer a multiple of 10) is a warning anyway.
    assert all(p.severity == WARNING and not p.waived for p in parser.problems if p.code not in allow)


def test_cli_allow_is_repeatable_and_reports_the_waived_rule(tmp_path, capsys) -> None:
    path = tmp_path / "sender.ach"
    path.write_bytes(_unordered_batches())
    assert main(["parse", str(path), "-o", str(tmp_path / "out.jsonl")]) == 1
    capsys.readouterr()
    argv = ["parse", str(path), "-o", str(tmp_path / "out.jsonl"), "--allow", "nacha.batch.number_order"]
    assert main([*argv, "--allow", CHECK_DIGIT]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"{path}:5: warning (waived nacha.batch.number_order): batch header (5)")
    assert lines[-1].startswith(f"{path}: nacha: ")


def test_cli_unknown_rule_is_a_usage_error(tmp_path, capsys) -> None:
    path = tmp_path / "f.ach"
    path.write_bytes(clean_file())
    assert main(["parse", str(path), "--allow", "nacha.batch.numbers"]) == 2
    err = capsys.readouterr().err
    assert "unknown rule code(s): nacha.batch.numbers" in err and "nacha.batch.number_order" in err


def test_cli_enforce(tmp_path, capsys) -> None:
    path = tmp_path / "stale.ach"
    path.write_bytes(build(batch({}, effective_entry_date=date(2025, 12, 31))))
    out = str(tmp_path / "out.jsonl")
    assert main(["parse", str(path), "-o", out]) == 0
    assert main(["parse", str(path), "-o", out, "--enforce", "nacha.batch.effective_date_stale"]) == 1
    assert "effective_entry_date" in capsys.readouterr().err


def test_strict_run_with_waivers_still_raises_on_other_errors() -> None:
    with pytest.raises(ParseError):
        list(NachaParser(io.BytesIO(delete_line(clean_file(), 1)), allow={CHECK_DIGIT}))
