"""NACHA record layouts: the field table of every record type, as in the NACHA Operating Rules.

Positions are 1-based and copied from the rules' record formats so each table can be checked
against the book line by line. Every table drives reading, validation and writing.
"""

from __future__ import annotations

from bankgate.parsers.fields import Field, Kind, Layout

TEXT, DIGITS, NUMBER, AMOUNT, DATE, TIME, CONST, FILLER = (
    Kind.TEXT,
    Kind.DIGITS,
    Kind.NUMBER,
    Kind.AMOUNT,
    Kind.DATE,
    Kind.TIME,
    Kind.CONST,
    Kind.FILLER,
)

RECORD_LENGTH = 94
#: An invalid effective entry date is a warning (see ``parsers/nacha/rules.py``), not a field error.
EFFECTIVE_DATE_INVALID = "nacha.batch.effective_date_invalid"
BATCH = ("batch",)  # records inside a batch carry the batch number they belong to


def _const(name: str, start: int, value: str) -> Field:
    return Field(name, start, len(value), CONST, value=value)


def _layout(kind: str, title: str, fields: list[Field], context: tuple[str, ...] = BATCH) -> Layout:
    return Layout(kind, fields, title=title, length=RECORD_LENGTH, context=context)


FILE_HEADER = _layout(
    "file_header",
    "file header (1)",
    [
        _const("record_type", 1, "1"),
        _const("priority_code", 2, "01"),
        # Checked by the reader (nacha.file.immediate_destination / _origin): their forms are rules.
        Field("immediate_destination", 4, 10, TEXT, right_justified=True),
        Field("immediate_origin", 14, 10, TEXT, right_justified=True),
        Field("file_creation_date", 24, 6, DATE),
        Field("file_creation_time", 30, 4, TIME, blank_ok=True),
        Field("file_id_modifier", 34, 1, TEXT, required=True),
        _const("record_size", 35, "094"),
        _const("blocking_factor", 38, "10"),
        _const("format_code", 40, "1"),
        Field("immediate_destination_name", 41, 23),
        Field("immediate_origin_name", 64, 23),
        Field("reference_code", 87, 8),
    ],
    context=(),
)

BATCH_HEADER = _layout(
    "batch_header",
    "batch header (5)",
    [
        _const("record_type", 1, "5"),
        Field("service_class_code", 2, 3, NUMBER),
        Field("company_name", 5, 16, TEXT),  # not blank, not zeros: nacha.batch.company_name
        Field("company_discretionary_data", 21, 20),
        Field("company_identification", 41, 10, TEXT, required=True),
        Field("standard_entry_class_code", 51, 3, TEXT, required=True),
        Field("company_entry_description", 54, 10, TEXT),  # nacha.batch.company_entry_description
        Field("company_descriptive_date", 64, 6),
        Field("effective_entry_date", 70, 6, DATE, blank_ok=True, rule=EFFECTIVE_DATE_INVALID),
        Field("settlement_date", 76, 3),
        Field("originator_status_code", 79, 1),
        Field("odfi_identification", 80, 8, DIGITS, required=True),
        Field("batch_number", 88, 7, NUMBER),
    ],
    context=(),
)

IAT_BATCH_HEADER = _layout(
    "iat_batch_header",
    "IAT batch header (5)",
    [
        _const("record_type", 1, "5"),
        Field("service_class_code", 2, 3, NUMBER),
        Field("iat_indicator", 5, 16),
        Field("foreign_exchange_indicator", 21, 2, TEXT, required=True),
        Field("foreign_exchange_reference_indicator", 23, 1, TEXT, required=True),
        Field("foreign_exchange_reference", 24, 15),
        Field("iso_destination_country_code", 39, 2, TEXT, required=True),
        Field("originator_identification", 41, 10, TEXT, required=True),
        Field("standard_entry_class_code", 51, 3, TEXT, required=True),
        Field("company_entry_description", 54, 10, TEXT),  # nacha.batch.company_entry_description
        Field("iso_originating_currency_code", 64, 3, TEXT, required=True),
        Field("iso_destination_currency_code", 67, 3, TEXT, required=True),
        Field("effective_entry_date", 70, 6, DATE, blank_ok=True, rule=EFFECTIVE_DATE_INVALID),
        Field("settlement_date", 76, 3),
        Field("originator_status_code", 79, 1),
        Field("odfi_identification", 80, 8, DIGITS, required=True),
        Field("batch_number", 88, 7, NUMBER),
    ],
    context=(),
)

# -- entry detail (6): the same frame for most SEC codes, with SEC-specific middle fields ----

_ENTRY_HEAD = [
    _const("record_type", 1, "6"),
    Field("transaction_code", 2, 2, NUMBER),
    Field("rdfi_routing", 4, 8, DIGITS, required=True),
    Field("check_digit", 12, 1, NUMBER),
    Field("dfi_account_number", 13, 17, TEXT, required=True),
    Field("amount", 30, 10, AMOUNT),
]
_ENTRY_TAIL = [
    Field("addenda_record_indicator", 79, 1, NUMBER),
    Field("trace_number", 80, 15, DIGITS, required=True),
]


def _entry(middle: list[Field]) -> Layout:
    return _layout("entry_detail", "entry detail (6)", [*_ENTRY_HEAD, *middle, *_ENTRY_TAIL])


ENTRY_STANDARD = _entry(  # PPD, CCD, WEB, TEL, ACK, COR, DNE, ... : the common frame
    [
        Field("identification_number", 40, 15),
        Field("receiver_name", 55, 22),
        Field("discretionary_data", 77, 2),  # WEB/TEL: payment type code; POS/SHR/MTE: card type
    ]
)
ENTRY_CIE_MTE = _entry(  # CIE and MTE swap name and identification
    [
        Field("receiver_name", 40, 15),
        Field("identification_number", 55, 22),
        Field("discretionary_data", 77, 2),
    ]
)
ENTRY_CHECK = _entry(  # ARC, BOC, RCK: converted checks
    [
        Field("check_serial_number", 40, 15),
        Field("receiver_name", 55, 22),
        Field("discretionary_data", 77, 2),
    ]
)
ENTRY_POP = _entry(
    [
        Field("check_serial_number", 40, 9),
        Field("terminal_city", 49, 4),
        Field("terminal_state", 53, 2),
        Field("receiver_name", 55, 22),
        Field("discretionary_data", 77, 2),
    ]
)
ENTRY_ADDENDA_COUNT = _entry(  # CTX, ATX, TRX, ENR: many addenda, counted in the entry
    [
        Field("identification_number", 40, 15),
        Field("number_of_addenda_records", 55, 4, NUMBER),
        Field("receiver_name", 59, 16),
        Field("reserved", 75, 2, FILLER),
        Field("discretionary_data", 77, 2),  # TRX: item type indicator
    ]
)
ENTRY_SHR = _entry(
    [
        Field("card_expiration_date", 40, 4),
        Field("document_reference_number", 44, 11),
        Field("card_account_number", 55, 22),
        Field("discretionary_data", 77, 2),
    ]
)
ENTRY_TRUNCATED_CHECK = _entry(  # XCK, TRC
    [
        Field("check_serial_number", 40, 15),
        Field("process_control_field", 55, 6),
        Field("item_research_number", 61, 16),
        Field("discretionary_data", 77, 2),  # TRC: item type indicator
    ]
)

IAT_ENTRY = _layout(
    "iat_entry_detail",
    "IAT entry detail (6)",
    [
        *_ENTRY_HEAD[:4],
        Field("number_of_addenda_records", 13, 4, NUMBER),
        Field("reserved", 17, 13, FILLER),
        Field("amount", 30, 10, AMOUNT),
        Field("dfi_account_number", 40, 35, TEXT, required=True),
        Field("reserved_2", 75, 2, FILLER),
        Field("ofac_screening_indicator", 77, 1),
        Field("secondary_ofac_screening_indicator", 78, 1),
        *_ENTRY_TAIL,
    ],
)

ADV_ENTRY = _layout(
    "adv_entry_detail",
    "ADV entry detail (6)",
    [
        *_ENTRY_HEAD[:4],
        Field("dfi_account_number", 13, 15, TEXT, required=True),
        Field("amount", 28, 12, AMOUNT),
        Field("advice_routing_number", 40, 9, DIGITS, required=True),
        Field("file_identification", 49, 5),
        Field("ach_operator_data", 54, 1),
        Field("receiver_name", 55, 22),
        Field("discretionary_data", 77, 2),
        Field("addenda_record_indicator", 79, 1, NUMBER),
        Field("ach_operator_routing", 80, 8, DIGITS, required=True),
        Field("julian_day", 88, 3, DIGITS),
        Field("sequence_number", 91, 4, DIGITS),
    ],
)

ENTRY_BY_SEC: dict[str, Layout] = {
    **dict.fromkeys(["CIE", "MTE"], ENTRY_CIE_MTE),
    **dict.fromkeys(["ARC", "BOC", "RCK"], ENTRY_CHECK),
    "POP": ENTRY_POP,
    # ENR, which allows 9,999 addenda as CTX does, counts them in the entry too: Number of Addenda
    # Records 55-58, Receiving Company Name/ID Number 59-74, reserved 75-76. Three independent
    # transcriptions of its record format agree (the ``nacha`` Ruby gem's enr_entry_detail.rb,
    # moov-io/ach's docs table, a JS validator; an Elixir parser follows the gem); moov-io/ach's
    # own code reads the standard frame.
    **dict.fromkeys(["CTX", "ATX", "TRX", "ENR"], ENTRY_ADDENDA_COUNT),
    "SHR": ENTRY_SHR,
    **dict.fromkeys(["XCK", "TRC"], ENTRY_TRUNCATED_CHECK),
    "IAT": IAT_ENTRY,
    "ADV": ADV_ENTRY,
}


def entry_layout(sec: str) -> Layout:
    return ENTRY_BY_SEC.get(sec, ENTRY_STANDARD)


# -- addenda (7) -------------------------------------------------------------------------


def _addenda(type_code: str, title: str, fields: list[Field], kind: str | None = None) -> Layout:
    head = [_const("record_type", 1, "7"), _const("addenda_type_code", 2, type_code)]
    return _layout(kind or f"addenda_{type_code}", f"addenda {title} (7{type_code})", [*head, *fields])


_SEQUENCE = [
    Field("addenda_sequence_number", 84, 4, NUMBER),
    Field("entry_detail_sequence_number", 88, 7, DIGITS),
]
_IAT_SEQUENCE = [Field("entry_detail_sequence_number", 88, 7, DIGITS)]

ADDENDA_02 = _addenda(
    "02",
    "POS/SHR/MTE terminal",
    [
        Field("reference_information_1", 4, 7),
        Field("reference_information_2", 11, 3),
        Field("terminal_identification_code", 14, 6),
        Field("transaction_serial_number", 20, 6),
        Field("transaction_date", 26, 4),  # MMDD, no year
        Field("authorization_code_or_card_expiration", 30, 6),
        Field("terminal_location", 36, 27),
        Field("terminal_city", 63, 15),
        Field("terminal_state", 78, 2),
        Field("trace_number", 80, 15, DIGITS),
    ],
)
ADDENDA_05 = _addenda("05", "payment related information", [Field("payment_related_information", 4, 80), *_SEQUENCE])
ADDENDA_98 = _addenda(
    "98",
    "notification of change",
    [
        Field("change_code", 4, 3, TEXT, required=True),
        Field("original_entry_trace_number", 7, 15, DIGITS),
        Field("reserved", 22, 6, FILLER),
        Field("original_rdfi_identification", 28, 8, DIGITS),
        Field("corrected_data", 36, 29, TEXT, required=True),
        Field("reserved_2", 65, 15, FILLER),
        Field("trace_number", 80, 15, DIGITS),
    ],
)
ADDENDA_99 = _addenda(
    "99",
    "return",
    [
        Field("return_reason_code", 4, 3, TEXT, required=True),
        Field("original_entry_trace_number", 7, 15, DIGITS),
        Field("date_of_death", 22, 6, DATE, blank_ok=True),
        Field("original_rdfi_identification", 28, 8, DIGITS),
        Field("addenda_information", 36, 44),
        Field("trace_number", 80, 15, DIGITS),
    ],
)
ADDENDA_99_DISHONORED = _addenda(
    "99",
    "dishonored return",
    [
        Field("return_reason_code", 4, 3, TEXT, required=True),
        Field("original_entry_trace_number", 7, 15, DIGITS),
        Field("reserved", 22, 6, FILLER),
        Field("original_rdfi_identification", 28, 8, DIGITS),
        Field("reserved_2", 36, 3, FILLER),
        Field("return_trace_number", 39, 15, DIGITS),
        Field("return_settlement_date", 54, 3),
        Field("original_return_reason_code", 57, 2),
        Field("addenda_information", 59, 21),
        Field("trace_number", 80, 15, DIGITS),
    ],
    kind="addenda_99_dishonored",
)
ADDENDA_99_CONTESTED = _addenda(
    "99",
    "contested dishonored return",
    [
        Field("return_reason_code", 4, 3, TEXT, required=True),
        Field("original_entry_trace_number", 7, 15, DIGITS),
        Field("date_original_entry_returned", 22, 6),
        Field("original_rdfi_identification", 28, 8, DIGITS),
        Field("original_settlement_date", 36, 3),
        Field("return_trace_number", 39, 15, DIGITS),
        Field("return_settlement_date", 54, 3),
        Field("original_return_reason_code", 57, 2),
        Field("dishonored_return_trace_number", 59, 15, DIGITS),
        Field("dishonored_return_settlement_date", 74, 3),
        Field("dishonored_return_reason_code", 77, 2),
        Field("reserved", 79, 1, FILLER),
        Field("trace_number", 80, 15, DIGITS),
    ],
    kind="addenda_99_contested",
)

#: Return reason codes whose addenda use the dishonored / contested layouts.
DISHONORED_CODES = frozenset({"R61", "R67", "R68", "R69", "R70"})
CONTESTED_CODES = frozenset({"R71", "R72", "R73", "R74", "R75", "R76", "R77"})

ADDENDA_10 = _addenda(
    "10",
    "IAT transaction",
    [
        Field("transaction_type_code", 4, 3, TEXT, required=True),
        Field("foreign_payment_amount", 7, 18, AMOUNT),
        Field("foreign_trace_number", 25, 22),
        Field("name", 47, 35, TEXT, required=True),
        Field("reserved", 82, 6, FILLER),
        *_IAT_SEQUENCE,
    ],
)
ADDENDA_11 = _addenda(
    "11",
    "IAT originator",
    [
        Field("originator_name", 4, 35, TEXT, required=True),
        Field("originator_street_address", 39, 35, TEXT, required=True),
        Field("reserved", 74, 14, FILLER),
        *_IAT_SEQUENCE,
    ],
)
ADDENDA_12 = _addenda(
    "12",
    "IAT originator address",
    [
        Field("originator_city_state_province", 4, 35, TEXT, required=True),
        Field("originator_country_postal_code", 39, 35, TEXT, required=True),
        Field("reserved", 74, 14, FILLER),
        *_IAT_SEQUENCE,
    ],
)


def _iat_bank(type_code: str, who: str) -> Layout:
    return _addenda(
        type_code,
        f"IAT {who.upper()}",
        [
            Field(f"{who}_name", 4, 35, TEXT, required=True),
            Field(f"{who}_id_number_qualifier", 39, 2, TEXT, required=True),
            Field(f"{who}_identification", 41, 34, TEXT, required=True),
            Field(f"{who}_branch_country_code", 75, 3, TEXT, required=True),
            Field("reserved", 78, 10, FILLER),
            *_IAT_SEQUENCE,
        ],
    )


ADDENDA_13 = _iat_bank("13", "odfi")
ADDENDA_14 = _iat_bank("14", "rdfi")
ADDENDA_15 = _addenda(
    "15",
    "IAT receiver",
    [
        Field("receiver_identification_number", 4, 15),
        Field("receiver_street_address", 19, 35, TEXT, required=True),
        Field("reserved", 54, 34, FILLER),
        *_IAT_SEQUENCE,
    ],
)
ADDENDA_16 = _addenda(
    "16",
    "IAT receiver address",
    [
        Field("receiver_city_state_province", 4, 35, TEXT, required=True),
        Field("receiver_country_postal_code", 39, 35, TEXT, required=True),
        Field("reserved", 74, 14, FILLER),
        *_IAT_SEQUENCE,
    ],
)
ADDENDA_17 = _addenda(
    "17", "IAT payment related information", [Field("payment_related_information", 4, 80), *_SEQUENCE]
)
ADDENDA_18 = _addenda(
    "18",
    "IAT foreign correspondent bank",
    [
        Field("foreign_correspondent_bank_name", 4, 35, TEXT, required=True),
        Field("foreign_correspondent_bank_id_number_qualifier", 39, 2, TEXT, required=True),
        Field("foreign_correspondent_bank_id_number", 41, 34, TEXT, required=True),
        Field("foreign_correspondent_bank_branch_country_code", 75, 3, TEXT, required=True),
        Field("reserved", 78, 6, FILLER),
        *_SEQUENCE,
    ],
)

ADDENDA_BY_TYPE: dict[str, Layout] = {
    layout.fields[1].value: layout  # type: ignore[misc]
    for layout in (
        ADDENDA_02,
        ADDENDA_05,
        ADDENDA_98,
        ADDENDA_99,
        ADDENDA_10,
        ADDENDA_11,
        ADDENDA_12,
        ADDENDA_13,
        ADDENDA_14,
        ADDENDA_15,
        ADDENDA_16,
        ADDENDA_17,
        ADDENDA_18,
    )
}


def addenda_layout(type_code: str, reason_code: str = "") -> Layout | None:
    """The addenda layout for a type code; returns with 99 depend on the reason code."""
    if type_code == "99":
        if reason_code in DISHONORED_CODES:
            return ADDENDA_99_DISHONORED
        if reason_code in CONTESTED_CODES:
            return ADDENDA_99_CONTESTED
    return ADDENDA_BY_TYPE.get(type_code)


# -- controls ----------------------------------------------------------------------------

BATCH_CONTROL = _layout(
    "batch_control",
    "batch control (8)",
    [
        _const("record_type", 1, "8"),
        Field("service_class_code", 2, 3, NUMBER),
        Field("entry_addenda_count", 5, 6, NUMBER),
        Field("entry_hash", 11, 10, NUMBER),
        Field("total_debit", 21, 12, AMOUNT),
        Field("total_credit", 33, 12, AMOUNT),
        Field("company_identification", 45, 10),
        Field("message_authentication_code", 55, 19),
        Field("reserved", 74, 6, FILLER),
        Field("odfi_identification", 80, 8, DIGITS, required=True),
        Field("batch_number", 88, 7, NUMBER),
    ],
    context=(),
)
ADV_BATCH_CONTROL = _layout(
    "adv_batch_control",
    "ADV batch control (8)",
    [
        _const("record_type", 1, "8"),
        Field("service_class_code", 2, 3, NUMBER),
        Field("entry_addenda_count", 5, 6, NUMBER),
        Field("entry_hash", 11, 10, NUMBER),
        Field("total_debit", 21, 20, AMOUNT),
        Field("total_credit", 41, 20, AMOUNT),
        Field("ach_operator_data", 61, 19),
        Field("odfi_identification", 80, 8, DIGITS, required=True),
        Field("batch_number", 88, 7, NUMBER),
    ],
    context=(),
)
FILE_CONTROL = _layout(
    "file_control",
    "file control (9)",
    [
        _const("record_type", 1, "9"),
        Field("batch_count", 2, 6, NUMBER),
        Field("block_count", 8, 6, NUMBER),
        Field("entry_addenda_count", 14, 8, NUMBER),
        Field("entry_hash", 22, 10, NUMBER),
        Field("total_debit", 32, 12, AMOUNT),
        Field("total_credit", 44, 12, AMOUNT),
        Field("reserved", 56, 39, FILLER),
    ],
    context=(),
)
ADV_FILE_CONTROL = _layout(
    "adv_file_control",
    "ADV file control (9)",
    [
        _const("record_type", 1, "9"),
        Field("batch_count", 2, 6, NUMBER),
        Field("block_count", 8, 6, NUMBER),
        Field("entry_addenda_count", 14, 8, NUMBER),
        Field("entry_hash", 22, 10, NUMBER),
        Field("total_debit", 32, 20, AMOUNT),
        Field("total_credit", 52, 20, AMOUNT),
        Field("reserved", 72, 23, FILLER),
    ],
    context=(),
)

ALL_LAYOUTS: tuple[Layout, ...] = (
    FILE_HEADER,
    BATCH_HEADER,
    IAT_BATCH_HEADER,
    ENTRY_STANDARD,
    ENTRY_CIE_MTE,
    ENTRY_CHECK,
    ENTRY_POP,
    ENTRY_ADDENDA_COUNT,
    ENTRY_SHR,
    ENTRY_TRUNCATED_CHECK,
    IAT_ENTRY,
    ADV_ENTRY,
    *ADDENDA_BY_TYPE.values(),
    ADDENDA_99_DISHONORED,
    ADDENDA_99_CONTESTED,
    BATCH_CONTROL,
    ADV_BATCH_CONTROL,
    FILE_CONTROL,
    ADV_FILE_CONTROL,
)
