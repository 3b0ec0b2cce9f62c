"""Carrier templates: a user adds a carrier with a TOML file and no code; broken files say why.

Also the money and date readers the templates rely on.
"""

from __future__ import annotations

import io
from datetime import date

import pytest

from bankgate.cli import main
from bankgate.parsers.insurance import InsurancePdfParser, TemplateError, load_templates
from bankgate.parsers.insurance.templates import SHIPPED_DIR, load_template
from bankgate.parsers.insurance.values import MoneyFormat, parse_date
from tests.parsers import pdf_factory as F

ENV_VAR = "BANKGATE_TEMPLATES"  # read by the core's settings (the CLI), never by the parsers


@pytest.fixture(scope="session")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> F.PdfSet:
    return F.pdf_set(tmp_path_factory)


@pytest.fixture(autouse=True)
def _no_user_templates(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_shipped_templates_load():
    assert [t.name for t in load_templates()] == ["granite-peak", "harborline"]
    assert {p.stem for p in SHIPPED_DIR.glob("*.toml")} == {"granite-peak", "harborline"}


def test_a_third_carrier_is_added_with_a_toml_file_and_no_code(pdfs, tmp_path, monkeypatch, capsys):
    (tmp_path / "tidewater.toml").write_text(F.TIDEWATER_TEMPLATE)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # for the CLI below; the parser takes its directories
    parser = InsurancePdfParser(io.BytesIO(pdfs.data("tidewater")), name="tidewater.pdf", template_dirs=[tmp_path])
    records = list(parser)
    doc, _page, policy, *rows = records
    assert (doc.doc_type, doc.template) == ("declarations", "tidewater")
    truth = F.TIDEWATER
    assert (policy.carrier, policy.policy_number, policy.named_insured) == (
        "Tidewater Fidelity & Surety",
        truth["policy_number"],
        truth["named_insured"],
    )
    assert (policy.effective, policy.expiration, policy.premium_cents) == (
        truth["effective"],
        truth["expiration"],
        truth["premium_cents"],
    )
    assert [(r.description, r.limits, r.policy_number) for r in rows] == [
        ("Performance Bond", {"limit": 125_000_000}, truth["policy_number"]),
        ("Payment Bond", {"limit": 75_000_000}, truth["policy_number"]),
    ]
    assert main(["detect", str(pdfs.path("tidewater"))]) == 0
    assert capsys.readouterr().out.strip() == "declarations"


def test_a_user_template_replaces_a_shipped_one_of_the_same_name(tmp_path, monkeypatch):
    text = (
        (SHIPPED_DIR / "harborline.toml")
        .read_text()
        .replace('carrier = "Harborline Mutual Insurance Company"', 'carrier = "Harborline (our copy)"')
    )
    (tmp_path / "harborline.toml").write_text(text)
    assert {t.name: t.carrier for t in load_templates([tmp_path])}["harborline"] == "Harborline (our copy)"


GOOD = """
name = "acme"
carrier = "Acme"
match = ["ACME"]
[fields.policy_number]
anchor = "Policy:"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "not valid TOML"),
        (GOOD.replace('name = "acme"', 'name = "Acme Co"'), "name: must be a string of lowercase"),
        (GOOD.replace('name = "acme"', 'name = "other"'), "declares name 'other' but the file is 'acme.toml'"),
        ("colour = 1\n" + GOOD, "colour: unknown key"),
        (GOOD + "colour = 1\n", "fields.policy_number: unknown key colour"),
        (GOOD.replace('match = ["ACME"]', "match = []"), "match: must be a non-empty list"),
        (GOOD.replace('match = ["ACME"]', 'match = ["(ACME"]'), "match: not a valid regex"),
        (
            GOOD.replace('anchor = "Policy:"', "pattern = 'Policy: (\\S+)'"),
            "fields.policy_number.pattern: must have a named group `value`",
        ),
        (GOOD + 'pattern = "x(?P<value>y)"\n', "needs exactly one of `anchor`"),
        (GOOD + 'type = "float"\n', "fields.policy_number.type: must be one of text, date, money, integer"),
        (GOOD + '[fields.effective]\nanchor = "From"\ntype = "text"\n', "the standard field effective is of type date"),
        (
            GOOD + '[coverages]\nstart = "X"\nrow = "(?P<limit>\\\\d+)"\n',
            "coverages.row: must have a named group `name`",
        ),
        (GOOD + '[coverages]\nrow = "(?P<name>.+)"\n', "coverages.start: is required"),
        (
            GOOD.replace('carrier = "Acme"', 'carrier = "Acme"\nmoney = { thousands = ".", decimal = "." }'),
            "money: thousands",
        ),
        (GOOD.replace('carrier = "Acme"', 'carrier = "Acme"\ndates = ["MM/DD"]'), "dates: must be a list of strftime"),
        (
            GOOD.replace('[fields.policy_number]\nanchor = "Policy:"', ""),
            "fields: must be a table with at least [fields.policy_number]",
        ),
    ],
)
def test_a_broken_template_names_its_file_and_key(tmp_path, text, message):
    path = tmp_path / "acme.toml"
    path.write_text(text)
    with pytest.raises(TemplateError) as err:
        load_template(path)
    assert str(err.value).startswith(f"template file {path}: ")
    assert message in str(err.value)


def test_a_broken_user_template_is_a_usage_error_in_the_cli(pdfs, tmp_path, monkeypatch, capsys):
    (tmp_path / "acme.toml").write_text("name = ")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert main(["parse", str(pdfs.path("harborline"))]) == 2
    assert capsys.readouterr().err.startswith(f"bankgate: template file {tmp_path / 'acme.toml'}: not valid TOML")
    with pytest.raises(TemplateError, match="not a directory"):
        load_templates([tmp_path / "missing"])


def test_the_good_template_loads(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(GOOD)
    template = load_template(path)
    assert template.fields["policy_number"].pattern.search("Policy: AB-1  Period").group("value") == "AB-1"
    assert template.fields["policy_number"].required and template.coverages is None


@pytest.mark.parametrize(
    ("text", "fmt", "cents"),
    [
        ("$1,250,000", MoneyFormat(), 125_000_000),
        ("$ 1,000,000", MoneyFormat(), 100_000_000),
        ("1,250.5", MoneyFormat(), 125_050),
        ("USD 23,118", MoneyFormat(), 2_311_800),
        ("(125.00)", MoneyFormat(), -12_500),
        ("EUR 1.250.000,00", MoneyFormat(".", ","), 125_000_000),
        ("3.125,75", MoneyFormat(".", ","), 312_575),
        ("1,OOO,OOO", MoneyFormat(), None),
        ("1,00,000", MoneyFormat(), None),
        ("12.345", MoneyFormat(), None),
        ("Included", MoneyFormat(), None),
        ("", MoneyFormat(), None),
        ("١٢٣", MoneyFormat(), None),
    ],
)
def test_money_is_integer_cents_or_refused(text, fmt, cents):
    assert fmt.cents(text) == cents


def test_dates():
    assert parse_date("01/15/2026") == date(2026, 1, 15)
    assert parse_date("March 15, 2026") == date(2026, 3, 15)
    assert parse_date("15.03.2026", ("%d.%m.%Y",)) == date(2026, 3, 15)
    assert parse_date("13/45/2026") is None
    assert parse_date("") is None
