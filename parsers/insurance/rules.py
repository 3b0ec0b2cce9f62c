"""Every rule the insurance PDF parser checks, by its stable code (see ``bankgate.parsers.rules``)."""

from __future__ import annotations

from bankgate.parsers.rules import Rule, RuleSet, common_rules

NS = "insurance"

RULES = RuleSet(
    NS,
    [
        *common_rules(NS),
        Rule("insurance.pdf.unreadable", "the PDF cannot be read (encrypted, truncated, over a limit, hostile)"),
        Rule("insurance.document.unrecognised", "not an ACORD 25 certificate, and no carrier template matches"),
        Rule("insurance.page.needs_ocr", "an image-only page (a scan) that was not read by OCR"),
        Rule("insurance.party.name_missing", "a party (insured, producer, insurer...) has no name"),
        Rule("insurance.party.naic", "an insurer's NAIC code is not 5 digits"),
        Rule("insurance.coverage.insurer_letter", "a coverage names an insurer letter that is not listed"),
        Rule("insurance.coverage.policy_number_missing", "a listed coverage has no policy number"),
        Rule("insurance.policy.expiration_order", "the expiration date is not after the effective date"),
        Rule("insurance.policy.no_coverages", "a declarations page with no coverage rows found"),
        Rule("insurance.field.missing", "a required field (a date, a template field) is missing"),
        Rule("insurance.field.date", "a date that cannot be read"),
        Rule("insurance.field.number", "a limit, amount or count that is not a number"),
    ],
)
