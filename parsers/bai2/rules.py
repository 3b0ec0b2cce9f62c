"""Every rule the BAI2 parser checks, by its stable code (see ``bankgate.parsers.rules``)."""

from __future__ import annotations

from bankgate.parsers.problems import WARNING
from bankgate.parsers.rules import Rule, RuleSet, common_rules

NS = "bai2"


def _trailer(scope: str, what: str, counted: str) -> list[Rule]:
    return [
        Rule(f"bai2.{scope}.control_total", f"the {what} trailer's control total differs from {counted}"),
        Rule(f"bai2.{scope}.record_count", f"the {what} trailer's record count differs from the records counted"),
    ]


RULES = RuleSet(
    NS,
    [
        *common_rules(NS),
        # -- fields -------------------------------------------------------------------------
        Rule("bai2.field.required", "a required field is missing"),
        Rule("bai2.field.amount", "an amount is not digits (with a sign only where one is allowed)"),
        Rule("bai2.field.number", "a count or number is not digits"),
        Rule("bai2.field.choice", "a field's value is not one the record allows"),
        Rule("bai2.field.date", "a date is not a valid YYMMDD"),
        Rule("bai2.field.time", "a time is not a valid HHMM, HHMMSS or HH:MM[:SS] (2400 and 9999 mean end of day)"),
        Rule("bai2.field.type_code", "a type code is not 3 digits"),
        Rule("bai2.field.currency", "a currency code is not 3 letters"),
        Rule("bai2.field.funds_type", "a funds type is not 0, 1, 2, S, V, D or Z"),
        Rule("bai2.field.distributions", "a D funds type declares more distributions than the record holds"),
        Rule("bai2.trailer.blank", "a trailer's control total or count is blank: read as absent, not checked", WARNING),
        # -- records ------------------------------------------------------------------------
        Rule("bai2.record.no_code", "a record does not start with a record code"),
        Rule("bai2.record.unknown_code", "a record code BAI2 does not define"),
        Rule("bai2.record.unreadable", "a record could not be read at all"),
        Rule("bai2.record.control_characters", "a record holds control characters"),
        Rule("bai2.record.trailing_text", "text after the end of a record was ignored", WARNING),
        Rule("bai2.record.extra_fields", "fields beyond those BAI2 defines were ignored", WARNING),
        Rule("bai2.record.continuation_orphan", "a continuation (88) with no record before it"),
        Rule(
            "bai2.record.continuation_without_88",
            "a transaction's (16) text goes on on the next line without a continuation (88) record",
            WARNING,
        ),
        Rule("bai2.record.outside_account", "a transaction (16) or account trailer (49) outside an account"),
        # -- file, groups, accounts -----------------------------------------------------------
        Rule("bai2.file.empty", "the file holds no BAI2 records"),
        Rule("bai2.file.line_too_long", "a line so long the file cannot be BAI2"),
        Rule("bai2.file.header_not_first", "a record before the file header (01)"),
        Rule("bai2.file.second_header", "a second file header (01)"),
        Rule("bai2.file.trailer_missing", "the file ends without a file trailer (99)"),
        Rule("bai2.file.record_after_trailer", "a record after the file trailer (99)"),
        *_trailer("file", "file (99)", "the sum of the group control totals"),
        Rule("bai2.file.group_count", "the file trailer's group count differs from the groups counted"),
        Rule("bai2.group.trailer_missing", "a group has no group trailer (98)"),
        Rule("bai2.group.trailer_without_header", "a group trailer (98) with no group header"),
        *_trailer("group", "group (98)", "the sum of its account control totals"),
        Rule("bai2.group.account_count", "the group trailer's account count differs from the accounts counted"),
        Rule("bai2.account.outside_group", "an account (03) outside a group"),
        Rule("bai2.account.trailer_missing", "an account has no account trailer (49)"),
        Rule(
            "bai2.account.summary_type_code", "an account summary with an amount, count or funds type has no type code"
        ),
        *_trailer("account", "account (49)", "the sum of the account's amounts"),
    ],
)
