"""Every rule the fixed-width parser checks, by its stable code (see ``bankgate.parsers.rules``).

A layout's own checks (``[[checks]]`` in its TOML file) report under the ``fixed.check.*``
code of their kind; the check's name is in the message and the field.
"""

from __future__ import annotations

from bankgate.parsers.rules import Rule, RuleSet, common_rules, field_rules, line_rules

NS = "fixed"

RULES = RuleSet(
    NS,
    [
        *common_rules(NS),
        *field_rules(NS),
        *line_rules(NS),
        Rule("fixed.file.empty", "the file holds no records"),
        Rule("fixed.file.last_record", "the file ends with a record type the layout does not allow last"),
        Rule("fixed.record.unknown_type", "a record's type code is not one of the layout's"),
        Rule("fixed.record.order", "a record type follows one the layout does not allow it after"),
        Rule("fixed.check.count", "a layout count check: the declared count differs from the records counted"),
        Rule("fixed.check.sum", "a layout sum check: the declared total differs from the sum of the fields"),
        Rule("fixed.check.match", "a layout match check: a field differs from the same field of its parent record"),
        Rule(
            "fixed.check.sequence",
            "a layout sequence check: a number does not start or go on as the layout's numbering says",
        ),
    ],
)
