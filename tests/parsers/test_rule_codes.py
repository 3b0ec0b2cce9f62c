"""Stable rule codes: every problem of every parser names a registered rule, and the registries
are well formed. Programs (the pipeline's ``.error.json``, the ledger, scripts) act on these
codes, so a problem without one, or with one no registry lists, is a bug."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bankgate.parsers.bai2 import Bai2Parser
from bankgate.parsers.fixed import FixedWidthParser
from bankgate.parsers.insurance import InsurancePdfParser
from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.problems import ERROR, WARNING, ParseError, Problem
from bankgate.parsers.registry import all_rules, rule_sets
from tests.parsers import pdf_factory as F

DATA = Path(__file__).resolve().parents[1] / "data"


def _problems(parser) -> list[Problem]:
    try:
        list(parser)
    except ParseError as error:
        return error.problems
    return parser.problems


def test_registries_are_well_formed() -> None:
    codes = [rule.code for rule in all_rules()]
    assert len(codes) == len(set(codes)), "a code is listed twice"
    for rules in rule_sets():
        assert len(rules) > 5
        for rule in rules:
            assert rule.code.startswith(rules.namespace + ".") and rule.code.count(".") >= 2, rule
            assert rule.code == rule.code.lower() and " " not in rule.code, rule
            assert rule.meaning and "\n" not in rule.meaning, rule
            assert rule.severity in (ERROR, WARNING)


def test_problem_as_dict_carries_the_code() -> None:
    problem = Problem(3, "entry detail (6)", "check_digit", "is 5", ERROR, "nacha.entry.check_digit")
    assert problem.as_dict() == {
        "line": 3,
        "record": "entry detail (6)",
        "field": "check_digit",
        "message": "is 5",
        "severity": ERROR,
        "code": "nacha.entry.check_digit",
        "waived": False,
    }


@pytest.mark.parametrize("path", sorted((DATA / "nacha").glob("*.ach")), ids=lambda p: p.name)
def test_nacha_problems_carry_registered_codes(path: Path) -> None:
    parser = NachaParser(io.BytesIO(path.read_bytes()), lenient=True)
    for problem in _problems(parser):
        assert problem.code in NachaParser.rules, problem


@pytest.mark.parametrize("path", sorted((DATA / "bai2").glob("*.bai")), ids=lambda p: p.name)
def test_bai2_problems_carry_registered_codes(path: Path) -> None:
    for problem in _problems(Bai2Parser(io.BytesIO(path.read_bytes()), lenient=True)):
        assert problem.code in Bai2Parser.rules, problem


FIXED_CODES = {
    "bai-lockbox-batch-item-count-wrong.txt": ["fixed.check.count"],
    "bai-lockbox-batch-amount-wrong.txt": ["fixed.check.sum"],
    "bai-lockbox-record-count-wrong.txt": ["fixed.check.count"],
    "transaction-detail-debit-total-wrong.txt": ["fixed.check.sum"],
    "bai-lockbox-detail-batch-number-wrong.txt": ["fixed.check.match"],
    "bai-lockbox-unknown-record-type.txt": ["fixed.record.unknown_type"],
    "bai-lockbox-trailer-missing.txt": ["fixed.file.last_record"],
    "positive-pay-bad-void-indicator.txt": ["fixed.field.choice"],
    "bai-lockbox-detail-after-batch-total.txt": [
        "fixed.check.count",
        "fixed.check.sum",
        "fixed.record.order",
        "fixed.record.order",
    ],
}


@pytest.mark.parametrize("name", sorted(FIXED_CODES))
def test_fixed_problems_carry_their_codes(name: str) -> None:
    layout = next(n for n in ("bai-lockbox", "positive-pay", "transaction-detail") if name.startswith(n))
    parser = FixedWidthParser(io.BytesIO((DATA / "fixed" / name).read_bytes()), layout, lenient=True)
    problems = _problems(parser)
    assert [p.code for p in problems] == FIXED_CODES[name]
    assert all(p.code in FixedWidthParser.rules for p in problems)


def test_insurance_problems_carry_registered_codes() -> None:
    policy = dict(F.HARBORLINE, expiration=F.HARBORLINE["effective"])
    parser = InsurancePdfParser(io.BytesIO(F.harborline_pdf(policy=policy)), lenient=True)
    problems = _problems(parser)
    assert [p.code for p in problems] == ["insurance.policy.expiration_order"]
    unreadable = _problems(InsurancePdfParser(io.BytesIO(b"%PDF-1.7 truncated")))
    assert [p.code for p in unreadable] == ["insurance.pdf.unreadable"]
    assert all(p.code in InsurancePdfParser.rules for p in problems + unreadable)


def test_validating_waivers_stays_light() -> None:
    """Config loading may check waivers at a Lambda's cold start or at DAG parse time: the
    registries import no numpy and no PDF library."""
    code = (
        "import sys; from bankgate.parsers.registry import validate_waivers;"
        " validate_waivers(['nacha.entry.check_digit', 'bai2.account.control_total']);"
        " print([m for m in ('numpy', 'pyarrow', 'pypdfium2', 'pypdf') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
