"""Carrier declarations pages, read through a carrier template (``templates.py``).

The template's patterns run over the page lines (text layer or OCR, rebuilt left to right
with column gaps kept as two spaces). A document may hold one policy or a carrier's whole
print run: pages are grouped by policy number, a page without one belonging to the policy
before it. Each policy gives a ``policy`` record (with the page each value came from) and a
``coverage`` record per schedule row, which inherits the policy's number and period.
"""

from __future__ import annotations

import re
from datetime import date

from bankgate.parsers.insurance.layout import Page
from bankgate.parsers.insurance.records import Coverage, Policy
from bankgate.parsers.insurance.templates import STANDARD_FIELDS, FieldRule, Template
from bankgate.parsers.insurance.values import clean, parse_date
from bankgate.parsers.problems import ProblemLog

Found = tuple[str, int, str]  # (text, page, source)


def extract(template: Template, pages: list[Page], log: ProblemLog) -> list:
    records: list = []
    for group in _policies(template, pages):
        records += _policy(template, group, log)
    return records


def _first(rule: FieldRule, pages: list[Page]) -> Found | None:
    for page in pages:
        for line in page.lines:
            m = rule.pattern.search(line.text)
            if m and m.group("value") is not None and m.group("value").strip():
                return clean(m.group("value")), page.number, page.source
    return None


def _policies(template: Template, pages: list[Page]) -> list[list[Page]]:
    """Pages grouped by policy number: a page naming a different number starts a new policy."""
    rule = template.fields["policy_number"]
    groups: list[list[Page]] = []
    current: str | None = None
    for page in pages:
        found = _first(rule, [page])
        if not groups or (found is not None and current is not None and found[0] != current):
            groups.append([])
        if found is not None:
            current = found[0]
        groups[-1].append(page)
    return groups


#: A template field's value once converted by its type (``FieldRule.type``).
FieldValue = str | int | date | None


def _convert(template: Template, rule: FieldRule, found: Found, record: str, log: ProblemLog) -> FieldValue:
    text, page, _source = found
    if rule.type == "date":
        day = parse_date(text, template.dates)
        if day is None:
            log.add(
                page,
                record,
                rule.name,
                f"is not a date ({' or '.join(template.dates)}): '{text}'",
                code="insurance.field.date",
            )
        return day
    if rule.type == "money":
        cents = template.money.cents(text)
        if cents is None:
            log.add(page, record, rule.name, f"is not an amount: '{text}'", code="insurance.field.number")
        return cents
    if rule.type == "integer":
        digits = text.replace(template.money.thousands, "") if template.money.thousands else text
        if not digits.isdigit():
            log.add(page, record, rule.name, f"is not a whole number: '{text}'", code="insurance.field.number")
            return None
        return int(digits)
    return text


def _policy(template: Template, pages: list[Page], log: ProblemLog) -> list:
    values: dict[str, FieldValue] = {}
    where: dict[str, int] = {}
    sources: set[str] = set()
    first_page = pages[0].number
    for name, rule in template.fields.items():
        found = _first(rule, pages)
        if found is None:
            if rule.required:
                log.add(
                    first_page,
                    "policy",
                    name,
                    f"is missing (no match for the {template.name} template's pattern)",
                    code="insurance.field.missing",
                )
            values[name] = None
            continue
        where[name] = found[1]
        sources.add(found[2])
        values[name] = _convert(template, rule, found, "policy", log)
    number, named_insured, premium = values.get("policy_number"), values.get("named_insured"), values.get("premium")
    effective, expiration = values.get("effective"), values.get("expiration")
    line = where.get("policy_number", first_page)
    if isinstance(effective, date) and isinstance(expiration, date) and expiration <= effective:
        log.add(
            where.get("expiration", line),
            "policy",
            "expiration",
            f"{expiration.isoformat()} is not after the effective date {effective.isoformat()}",
            code="insurance.policy.expiration_order",
        )
    source = "+".join(sorted(sources)) or pages[0].source
    extra = {k: v for k, v in values.items() if k not in STANDARD_FIELDS}
    records: list = [
        Policy(
            line,
            template.carrier,
            template.name,
            number if isinstance(number, str) else None,
            named_insured if isinstance(named_insured, str) else None,
            effective if isinstance(effective, date) else None,
            expiration if isinstance(expiration, date) else None,
            premium if isinstance(premium, int) else None,
            extra,
            where,
            source,
        )
    ]
    if template.coverages is not None:
        records += _coverages(template, pages, records[0], log)
    return records


def _coverages(template: Template, pages: list[Page], policy: Policy, log: ProblemLog) -> list[Coverage]:
    rule = template.coverages
    assert rule is not None
    rows: list[Coverage] = []
    active = False
    for page in pages:
        for line in page.lines:
            if rule.start.search(line.text):
                active = True
                continue
            if not active:
                continue
            if rule.end is not None and rule.end.search(line.text):
                active = False
                continue
            m = rule.row.match(line.text.strip())
            if m:
                rows.append(_row(template, m, page, policy, log))
    if not rows:
        log.add(
            policy.line,
            "policy",
            "coverages",
            f"no coverage rows found (the {template.name} template's [coverages])",
            code="insurance.policy.no_coverages",
        )
    return rows


def _row(template: Template, m: re.Match[str], page: Page, policy: Policy, log: ProblemLog) -> Coverage:
    name = clean(m.group("name"))
    record = f"coverage {name!r}"
    groups = m.groupdict()

    def money(group: str, field: str) -> int | None:
        raw = groups.get(group)
        if raw is None or not raw.strip():
            return None
        cents = template.money.cents(raw)
        if cents is None:
            log.add(page.number, record, field, f"is not a number: '{clean(raw)}'", code="insurance.field.number")
        return cents

    limits: dict[str, int] = {}
    for group in groups:
        if group == "limit" or group.startswith("limit_"):
            key = "limit" if group == "limit" else group[len("limit_") :]
            cents = money(group, f"limits.{key}")
            if cents is not None:
                limits[key] = cents
    if not policy.policy_number:
        log.add(
            page.number,
            record,
            "policy_number",
            "is missing for a listed coverage (the policy has none)",
            code="insurance.coverage.policy_number_missing",
        )
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return Coverage(
        page.number,
        slug,
        name,
        None,
        policy.policy_number,
        policy.effective,
        policy.expiration,
        limits,
        money("deductible", "deductible_cents"),
        money("premium", "premium_cents"),
        page.source,
    )
