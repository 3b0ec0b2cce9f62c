"""Field by field decoding of every NACHA record type, and encoding back to the same bytes.

The known lines are copied from the moov-io sample files (the test checks they are still
there when the corpus is present); CIE and a return with a date of death are built here with
the writer, as no sample holds them in the NACHA layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pytest

from bankgate.parsers.nacha import layouts as L
from bankgate.parsers.nacha.codes import SEC_CODES
from bankgate.parsers.problems import ProblemLog
from tests.parsers.nacha_helpers import CORPUS, batch, build, lines_of, parse


@dataclass(frozen=True)
class Known:
    id: str  # an SEC code (lower case) for entries, else the record kind
    source: str  # corpus file the line is copied from
    source_line: int
    line: str
    kind: str
    values: dict[str, Any]  # every emitted field of the record

    @property
    def layout(self) -> L.Layout:
        if self.id.upper() in SEC_CODES:
            return L.entry_layout(self.id.upper())
        return next(layout for layout in L.ALL_LAYOUTS if layout.kind == self.kind)

    @property
    def context(self) -> tuple:
        return (1,) if "batch" in self.layout.context else ()


KNOWN = [
    Known(
        "file_header",
        "ppd-debit.ach",
        1,
        "101 03130001202313801041908161055A094101Federal Reserve Bank   My Bank Name           12345678",
        "file_header",
        {
            "immediate_destination": "031300012",
            "immediate_origin": "0231380104",
            "file_creation_date": date(2019, 8, 16),
            "file_creation_time": "10:55",
            "file_id_modifier": "A",
            "immediate_destination_name": "Federal Reserve Bank",
            "immediate_origin_name": "My Bank Name",
            "reference_code": "12345678",
        },
    ),
    Known(
        "batch_header",
        "ppd-debit.ach",
        2,
        "5225Name on Account                     231380104 PPDREG.SALARY      190816   1121042880000001",
        "batch_header",
        {
            "service_class_code": 225,
            "company_name": "Name on Account",
            "company_discretionary_data": "",
            "company_identification": "231380104",
            "standard_entry_class_code": "PPD",
            "company_entry_description": "REG.SALARY",
            "company_descriptive_date": "",
            "effective_entry_date": date(2019, 8, 16),
            "settlement_date": "",
            "originator_status_code": "1",
            "odfi_identification": "12104288",
            "batch_number": 1,
        },
    ),
    Known(
        "iat_batch_header",
        "iat-mixedCreditDebit.ach",
        2,
        "5200                FF3               US123456789 IATTRADEPAYMTCADUSD190816   0231380100000001",
        "iat_batch_header",
        {
            "service_class_code": 200,
            "iat_indicator": "",
            "foreign_exchange_indicator": "FF",
            "foreign_exchange_reference_indicator": "3",
            "foreign_exchange_reference": "",
            "iso_destination_country_code": "US",
            "originator_identification": "123456789",
            "standard_entry_class_code": "IAT",
            "company_entry_description": "TRADEPAYMT",
            "iso_originating_currency_code": "CAD",
            "iso_destination_currency_code": "USD",
            "effective_entry_date": date(2019, 8, 16),
            "settlement_date": "",
            "originator_status_code": "0",
            "odfi_identification": "23138010",
            "batch_number": 1,
        },
    ),
    Known(
        "ppd",
        "ppd-debit.ach",
        3,
        "627231380104123456789        0200000000               Debit Account           0121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "123456789",
            "amount": 200000000,
            "identification_number": "",
            "receiver_name": "Debit Account",
            "discretionary_data": "",
            "addenda_record_indicator": 0,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "ccd",
        "ccd-debit.ach",
        3,
        "627231380104744-5678-99      0000500000location1234567Best Co. #123456789012S 0031300010000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "744-5678-99",
            "amount": 500000,
            "identification_number": "location1234567",
            "receiver_name": "Best Co. #123456789012",
            "discretionary_data": "S",
            "addenda_record_indicator": 0,
            "trace_number": "031300010000001",
        },
    ),
    Known(
        "mte",
        "mte-read.ach",
        3,
        "627031300012744-5678-99      0000010000031300010000001JANE DOE                1231380100000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "03130001",
            "check_digit": 2,
            "dfi_account_number": "744-5678-99",
            "amount": 10000,
            "receiver_name": "031300010000001",
            "identification_number": "JANE DOE",
            "discretionary_data": "",
            "addenda_record_indicator": 1,
            "trace_number": "231380100000001",
        },
    ),
    Known(
        "pop",
        "pop-debit.ach",
        3,
        "62723138010412345678         0000250500123456789PHILPAWade Arnold             0121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "12345678",
            "amount": 250500,
            "check_serial_number": "123456789",
            "terminal_city": "PHIL",
            "terminal_state": "PA",
            "receiver_name": "Wade Arnold",
            "discretionary_data": "",
            "addenda_record_indicator": 0,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "arc",
        "arc-debit.ach",
        3,
        "62723138010412345678         0000250000123879654      ABC Company             0121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "12345678",
            "amount": 250000,
            "check_serial_number": "123879654",
            "receiver_name": "ABC Company",
            "discretionary_data": "",
            "addenda_record_indicator": 0,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "shr",
        "shr-debit.ach",
        3,
        "62723138010412345678         01000000000722123456789100001234567891123456789011121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "12345678",
            "amount": 100000000,
            "card_expiration_date": "0722",
            "document_reference_number": "12345678910",
            "card_account_number": "0001234567891123456789",
            "discretionary_data": "01",
            "addenda_record_indicator": 1,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "ctx",
        "ctx-debit.ach",
        3,
        "62723138010412345678         010000000045689033       0002Receiver Company  011121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "12345678",
            "amount": 100000000,
            "identification_number": "45689033",
            "number_of_addenda_records": 2,
            "receiver_name": "Receiver Company",
            "discretionary_data": "01",
            "addenda_record_indicator": 1,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "xck",
        "xck-debit.ach",
        3,
        "62723138010412345678         0000250000123456789012345CHECK11234567890123456  0121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "12345678",
            "amount": 250000,
            "check_serial_number": "123456789012345",
            "process_control_field": "CHECK1",
            "item_research_number": "1234567890123456",
            "discretionary_data": "",
            "addenda_record_indicator": 0,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "trc",
        "trc-debit.ach",
        3,
        "62723138010412345678         0000250000123456789012345CHECK11234567890123456010121042880000001",
        "entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "12345678",
            "amount": 250000,
            "check_serial_number": "123456789012345",
            "process_control_field": "CHECK1",
            "item_research_number": "1234567890123456",
            "discretionary_data": "01",
            "addenda_record_indicator": 0,
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "iat",
        "iat-mixedCreditDebit.ach",
        3,
        "6271210428820007             0000100000123456789                              1231380100000001",
        "iat_entry_detail",
        {
            "transaction_code": 27,
            "rdfi_routing": "12104288",
            "check_digit": 2,
            "number_of_addenda_records": 7,
            "amount": 100000,
            "dfi_account_number": "123456789",
            "ofac_screening_indicator": "",
            "secondary_ofac_screening_indicator": "",
            "addenda_record_indicator": 1,
            "trace_number": "231380100000001",
        },
    ),
    Known(
        "adv",
        "adv-read.ach",
        3,
        "681231380104744-5678-99    00000005000012104288211131 Name                    0011000010500001",
        "adv_entry_detail",
        {
            "transaction_code": 81,
            "rdfi_routing": "23138010",
            "check_digit": 4,
            "dfi_account_number": "744-5678-99",
            "amount": 50000,
            "advice_routing_number": "121042882",
            "file_identification": "11131",
            "ach_operator_data": "",
            "receiver_name": "Name",
            "discretionary_data": "",
            "addenda_record_indicator": 0,
            "ach_operator_routing": "01100001",
            "julian_day": "050",
            "sequence_number": "0001",
        },
    ),
    Known(
        "addenda_02",
        "shr-debit.ach",
        4,
        "702REFONEAREFTERM021000490614123456Target Store 0049          PHILADELPHIA   PA121042880000001",
        "addenda_02",
        {
            "reference_information_1": "REFONEA",
            "reference_information_2": "REF",
            "terminal_identification_code": "TERM02",
            "transaction_serial_number": "100049",
            "transaction_date": "0614",
            "authorization_code_or_card_expiration": "123456",
            "terminal_location": "Target Store 0049",
            "terminal_city": "PHILADELPHIA",
            "terminal_state": "PA",
            "trace_number": "121042880000001",
        },
    ),
    Known(
        "addenda_05",
        "ctx-debit.ach",
        5,
        "705Debit Second Account                                                            00020000001",
        "addenda_05",
        {
            "payment_related_information": "Debit Second Account",
            "addenda_sequence_number": 2,
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_98",
        "cor-read.ach",
        4,
        "798C01121042880000001      121042881918171614                                  091012980000088",
        "addenda_98",
        {
            "change_code": "C01",
            "original_entry_trace_number": "121042880000001",
            "original_rdfi_identification": "12104288",
            "corrected_data": "1918171614",
            "trace_number": "091012980000088",
        },
    ),
    Known(
        "addenda_99",
        "contested-return.ach",
        4,
        "799R07099912340000015      09101298Authorization Revoked                       000000000000000",
        "addenda_99",
        {
            "return_reason_code": "R07",
            "original_entry_trace_number": "099912340000015",
            "date_of_death": None,
            "original_rdfi_identification": "09101298",
            "addenda_information": "Authorization Revoked",
            "trace_number": "000000000000000",
        },
    ),
    Known(
        "addenda_99_dishonored",
        "contested-return.ach",
        5,
        "799R68059999990000301      12391871   12391871000000117901Untimely Return      059999990000001",
        "addenda_99_dishonored",
        {
            "return_reason_code": "R68",
            "original_entry_trace_number": "059999990000301",
            "original_rdfi_identification": "12391871",
            "return_trace_number": "123918710000001",
            "return_settlement_date": "179",
            "original_return_reason_code": "01",
            "addenda_information": "Untimely Return",
            "trace_number": "059999990000001",
        },
    ),
    Known(
        "addenda_99_contested",
        "contested-return.ach",
        6,
        "799R71059999990000301000167123918711647799999900003011650188999999000030116667 123918710000001",
        "addenda_99_contested",
        {
            "return_reason_code": "R71",
            "original_entry_trace_number": "059999990000301",
            "date_original_entry_returned": "000167",
            "original_rdfi_identification": "12391871",
            "original_settlement_date": "164",
            "return_trace_number": "779999990000301",
            "return_settlement_date": "165",
            "original_return_reason_code": "01",
            "dishonored_return_trace_number": "889999990000301",
            "dishonored_return_settlement_date": "166",
            "dishonored_return_reason_code": "67",
            "trace_number": "123918710000001",
        },
    ),
    Known(
        "addenda_10",
        "iat-mixedCreditDebit.ach",
        4,
        "710ANN000000000000100000928383-23938          BEK Enterprises                          0000001",
        "addenda_10",
        {
            "transaction_type_code": "ANN",
            "foreign_payment_amount": 100000,
            "foreign_trace_number": "928383-23938",
            "name": "BEK Enterprises",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_11",
        "iat-mixedCreditDebit.ach",
        5,
        "711BEK Solutions                      15 West Place Street                             0000001",
        "addenda_11",
        {
            "originator_name": "BEK Solutions",
            "originator_street_address": "15 West Place Street",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_12",
        "iat-mixedCreditDebit.ach",
        6,
        "712JacobsTown*PA\\                     US*19305\\                                        0000001",
        "addenda_12",
        {
            "originator_city_state_province": "JacobsTown*PA\\",
            "originator_country_postal_code": "US*19305\\",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_13",
        "iat-mixedCreditDebit.ach",
        7,
        "713Wells Fargo                        01231380104                         US           0000001",
        "addenda_13",
        {
            "odfi_name": "Wells Fargo",
            "odfi_id_number_qualifier": "01",
            "odfi_identification": "231380104",
            "odfi_branch_country_code": "US",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_14",
        "iat-mixedCreditDebit.ach",
        8,
        "714Citadel Bank                       01121042882                         CA           0000001",
        "addenda_14",
        {
            "rdfi_name": "Citadel Bank",
            "rdfi_id_number_qualifier": "01",
            "rdfi_identification": "121042882",
            "rdfi_branch_country_code": "CA",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_15",
        "iat-mixedCreditDebit.ach",
        9,
        "7159874654932139872121 Front Street                                                    0000001",
        "addenda_15",
        {
            "receiver_identification_number": "987465493213987",
            "receiver_street_address": "2121 Front Street",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_16",
        "iat-mixedCreditDebit.ach",
        10,
        "716LetterTown*AB\\                     CA*80014\\                                        0000001",
        "addenda_16",
        {
            "receiver_city_state_province": "LetterTown*AB\\",
            "receiver_country_postal_code": "CA*80014\\",
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_17",
        "iat-mixedCreditDebit.ach",
        11,
        "717This is an international payment                                                00010000001",
        "addenda_17",
        {
            "payment_related_information": "This is an international payment",
            "addenda_sequence_number": 1,
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "addenda_18",
        "iat-mixedCreditDebit.ach",
        12,
        "718Bank of France                     01456456456987987                   FR       00010000001",
        "addenda_18",
        {
            "foreign_correspondent_bank_name": "Bank of France",
            "foreign_correspondent_bank_id_number_qualifier": "01",
            "foreign_correspondent_bank_id_number": "456456456987987",
            "foreign_correspondent_bank_branch_country_code": "FR",
            "addenda_sequence_number": 1,
            "entry_detail_sequence_number": "0000001",
        },
    ),
    Known(
        "batch_control",
        "ppd-debit.ach",
        4,
        "82250000010023138010000200000000000000000000231380104                          121042880000001",
        "batch_control",
        {
            "service_class_code": 225,
            "entry_addenda_count": 1,
            "entry_hash": 23138010,
            "total_debit": 200000000,
            "total_credit": 0,
            "company_identification": "231380104",
            "message_authentication_code": "",
            "odfi_identification": "12104288",
            "batch_number": 1,
        },
    ),
    Known(
        "adv_batch_control",
        "adv-read.ach",
        5,
        "828000000200462760200000000000000025000000000000000000050000Company Name, Inc  121042880000001",
        "adv_batch_control",
        {
            "service_class_code": 280,
            "entry_addenda_count": 2,
            "entry_hash": 46276020,
            "total_debit": 250000,
            "total_credit": 50000,
            "ach_operator_data": "Company Name, Inc",
            "odfi_identification": "12104288",
            "batch_number": 1,
        },
    ),
    Known(
        "file_control",
        "ppd-debit.ach",
        5,
        "9000001000001000000010023138010000200000000000000000000                                       ",
        "file_control",
        {
            "batch_count": 1,
            "block_count": 1,
            "entry_addenda_count": 1,
            "entry_hash": 23138010,
            "total_debit": 200000000,
            "total_credit": 0,
        },
    ),
    Known(
        "adv_file_control",
        "adv-read.ach",
        6,
        "90000010000010000000200462760200000000000000025000000000000000000050000                       ",
        "adv_file_control",
        {
            "batch_count": 1,
            "block_count": 1,
            "entry_addenda_count": 2,
            "entry_hash": 46276020,
            "total_debit": 250000,
            "total_credit": 50000,
        },
    ),
]
KNOWN_IDS = [k.id for k in KNOWN]


def decode(layout: L.Layout, line: bytes, context: tuple = ()) -> tuple[Any, ProblemLog]:
    log = ProblemLog()
    record = layout.decode(line, 7, log, context)
    return record, log


def fields_of(record: Any) -> dict[str, Any]:
    return {k: v for k, v in record._asdict().items() if k not in ("line", "batch")}


@pytest.mark.parametrize("known", KNOWN, ids=KNOWN_IDS)
def test_decode_known_line(known: Known) -> None:
    line = known.line.encode("ascii")
    assert len(line) == 94
    record, log = decode(known.layout, line, known.context)
    assert log.problems == []
    assert known.kind == record.KIND
    assert record.line == 7
    assert fields_of(record) == known.values


@pytest.mark.parametrize("known", KNOWN, ids=KNOWN_IDS)
def test_encode_round_trips(known: Known) -> None:
    line = known.line.encode("ascii")
    record, _ = decode(known.layout, line, known.context)
    assert known.layout.encode(record._asdict()) == line
    assert known.layout.encode(known.values) == line


@pytest.mark.parametrize("known", KNOWN, ids=KNOWN_IDS)
def test_vectorized_decoding_agrees(known: Known) -> None:
    """The numpy block decoder gives the very records the one-line decoder gives."""
    layout = known.layout
    line = known.line.encode("ascii")
    rows = np.frombuffer(line * 20, dtype=np.uint8).reshape(20, 94)
    log = ProblemLog()
    records = layout.decode_rows(rows, range(1, 21), log, known.context)
    assert log.problems == []
    assert records == [decode(layout, line, known.context)[0]._replace(line=n) for n in range(1, 21)]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"NACHA sample corpus not found at {CORPUS}")
@pytest.mark.parametrize("known", KNOWN, ids=KNOWN_IDS)
def test_known_line_comes_from_the_corpus(known: Known) -> None:
    """The parser picks the same layout for the line in its file (SEC, return reason code...)."""
    data = (CORPUS / known.source).read_bytes()
    assert lines_of(data)[known.source_line - 1].decode() == known.line
    records, _ = parse(data, lenient=True)
    record = next(r for r in records if r.line == known.source_line)
    assert known.kind == record.KIND
    assert type(record) is known.layout.record_class
    assert fields_of(record) == known.values


def test_every_layout_has_a_known_line() -> None:
    covered = {id(k.layout) for k in KNOWN}
    missing = [layout.kind for layout in L.ALL_LAYOUTS if id(layout) not in covered]
    assert missing == []


def test_cie_swaps_name_and_identification() -> None:
    data = build(
        batch(
            {"receiver_name": "JANE DOE", "identification_number": "CUST-0001", "amount": 4321},
            standard_entry_class_code="CIE",
        )
    )
    line = lines_of(data)[2]
    assert line[39:54] == b"JANE DOE".ljust(15)  # CIE: positions 40-54 hold the receiver's name
    assert line[54:76] == b"CUST-0001".ljust(22)  # and 55-76 the identification number
    records, parser = parse(data)
    assert parser.problems == []
    entry = records[2]
    assert (entry.receiver_name, entry.identification_number, entry.amount) == ("JANE DOE", "CUST-0001", 4321)
    assert L.ENTRY_CIE_MTE.encode(entry._asdict()) == line
    # and the standard frame (PPD) has them the other way round
    ppd = lines_of(build(batch({"receiver_name": "JANE DOE", "identification_number": "CUST-0001"})))[2]
    assert ppd[39:54] == b"CUST-0001".ljust(15) and ppd[54:76] == b"JANE DOE".ljust(22)


def test_return_with_date_of_death() -> None:
    values = {
        "return_reason_code": "R15",
        "original_entry_trace_number": "121042880000001",
        "date_of_death": date(2025, 12, 31),
        "original_rdfi_identification": "23138010",
        "addenda_information": "BENEFICIARY DECEASED",
        "trace_number": "231380100000007",
    }
    line = L.ADDENDA_99.encode(values)
    assert line == b"".join(
        [
            b"7",
            b"99",
            b"R15",
            b"121042880000001",
            b"251231",  # date of death, YYMMDD
            b"23138010",
            b"BENEFICIARY DECEASED".ljust(44),
            b"231380100000007",
        ]
    )
    record, log = decode(L.ADDENDA_99, line, (1,))
    assert log.problems == []
    assert fields_of(record) == values
    # Through the parser: a return entry (21) with its 99 addenda in a PPD batch.
    data = build(batch({"transaction_code": 21, "amount": 0, "addenda": [{"addenda_type_code": "99", **values}]}))
    records, parser = parse(data)
    assert parser.problems == []
    assert records[3].KIND == "addenda_99" and records[3].date_of_death == date(2025, 12, 31)


def test_return_reason_code_picks_the_99_layout() -> None:
    assert L.addenda_layout("99", "R01") is L.ADDENDA_99
    assert L.addenda_layout("99", "R68") is L.ADDENDA_99_DISHONORED
    assert L.addenda_layout("99", "R73") is L.ADDENDA_99_CONTESTED
    assert L.addenda_layout("42") is None


def test_layout_tables_cover_94_positions() -> None:
    for layout in L.ALL_LAYOUTS:
        assert layout.length == 94
        assert sum(f.length for f in layout.fields) == 94
        assert layout.fields[0].name == "record_type"
