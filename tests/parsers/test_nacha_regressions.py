"""One test per bug found in the NACHA reader, named for the bug."""

from __future__ import annotations

import io

import pytest

from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.problems import ParseError

CLEAN = (
    b"101 231380104 1210428822601011200A094101" + b" " * 54 + b"\n"
    b"5200ACME CORP                           1234567890PPDPAYROLL         260102   1121042880000001\n"
    b"622231380104123456789        0000010000               JANE DOE                0121042880000001\n"
    b"820000000100231380100000000000000000000100001234567890                         121042880000001\n"
    b"9000001000001000000010023138010000000000000000000010000                                       \n"
)


def test_clean_base_file_is_clean() -> None:
    parser = NachaParser(io.BytesIO(CLEAN))
    assert len(list(parser)) == 5
    assert [p for p in parser.problems if p.severity == "error"] == []


def test_superscript_digit_in_odfi_is_a_problem_not_a_crash() -> None:
    # '\xb2' decodes (latin-1) to '²', which str.isdigit() accepts but int() rejects.
    data = CLEAN.replace(b"   1121042880000001\n6", b"   1\xb221042880000001\n6")
    with pytest.raises(ParseError) as caught:
        list(NachaParser(io.BytesIO(data)))
    assert any(p.field == "odfi_identification" and p.line == 2 for p in caught.value.problems)
