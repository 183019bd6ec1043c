"""Typed sheet values cannot change meaning with the spreadsheet's locale (issue 19).

Each property types a value as a person would in a locale, lets the Google emulator store it
as that spreadsheet's locale parses USER_ENTERED text (``sandbox.google.locales``, the rules the
sandbox emulates), reads the cell as the pipelines do (``UNFORMATTED_VALUE`` with serial dates),
and parses it with ``collector.core.cells``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from collector.core import settings
from collector.core.cells import (
    FORMULA_TRIGGERS,
    neutral_cell,
    neutral_row,
    parse_boolean,
    parse_count,
    parse_date,
    parse_decimal,
    parse_money_cents,
)
from sandbox.google.cells import parse_user_entered, rendered
from sandbox.google.locales import EPOCH, LOCALES, show, show_date

LOCALE_NAMES = sorted(LOCALES)


def _typed_in(text: str, locale: str, *, dates: str = "SERIAL_NUMBER"):
    """``text`` typed into a ``locale`` spreadsheet, read back unformatted."""
    value, pattern = parse_user_entered(text, locale)
    return rendered(value, "UNFORMATTED_VALUE", pattern, locale, dates)


def _as_person_types(cents: int, locale: str, style: str) -> str:
    """An amount as a person in ``locale`` writes it: plain, with thousands, or as currency
    (the way the locale itself shows such values)."""
    loc = LOCALES[locale]
    whole, frac = divmod(cents, 100)
    if style == "plain":
        return f"{whole}{loc.decimal}{frac:02d}"
    if style == "grouped":
        return show(int(whole), "GROUPED", locale) + f"{loc.decimal}{frac:02d}"
    return show(cents / 100, "CURRENCY", locale)


@given(
    cents=st.integers(min_value=0, max_value=10**9),
    locale=st.sampled_from(LOCALE_NAMES),
    style=st.sampled_from(["plain", "grouped", "currency"]),
)
def test_an_amount_typed_in_the_sheets_own_locale_reads_exactly(cents, locale, style):
    """Invariant: an amount typed in the spreadsheet's own convention (``3,50``, ``1.234,50``,
    ``3,50 €`` in de_DE; ``$1,234.50`` in en_US...) reads back as exactly the cents typed, in
    every emulated locale; no locale multiplies it by 100 (or by anything)."""
    text = _as_person_types(cents, locale, style)
    assert parse_money_cents(_typed_in(text, locale)) == cents


@given(
    cents=st.integers(min_value=0, max_value=10**7),
    writer=st.sampled_from(LOCALE_NAMES),
    sheet=st.sampled_from(LOCALE_NAMES),
)
def test_an_amount_typed_in_another_locale_reads_as_typed_or_is_refused(cents, writer, sheet):
    """Invariant: a person used to ``writer``'s convention types an amount with two decimals
    (``3,50`` or ``3.50``) into a ``sheet``-locale spreadsheet: it reads as exactly those
    cents, or it is refused (``ValueError``); never another amount (``3,50`` in an en_US sheet
    is text, refused; ``3.50`` in a de_DE sheet is text in the plain form, read as 3.50)."""
    text = _as_person_types(cents, writer, "plain")
    try:
        read = parse_money_cents(_typed_in(text, sheet))
    except ValueError:
        return
    assert read == cents


_TEXT = st.text(alphabet="0123456789.,-$e% ", min_size=1, max_size=12)


@given(text=_TEXT)
def test_text_in_a_number_column_reads_as_written_or_is_refused(text):
    """Invariant: text (what the sheet did not make a number) reads as the number it spells
    with '.' as the decimal point and nothing else, or is refused: never with ',' (a decimal
    comma or a thousands separator), never in scientific notation or as a percentage, and never
    with three digits after the point unless the whole part is 0 (``1.200``)."""
    try:
        number = parse_decimal(text)
    except ValueError:
        return
    body = text.strip()
    assert not set(body) & set(",$e% ")
    assert number == Decimal(body)
    whole, _, fraction = body.lstrip("-").partition(".")
    assert len(fraction) != 3 or not whole.strip("0")


@given(text=_TEXT)
def test_money_text_reads_as_written_or_is_refused(text):
    """Invariant: money text is the plain form with at most one leading ``$`` and at most 2
    decimals; it reads as exactly those cents, or is refused."""
    try:
        cents = parse_money_cents(text)
    except ValueError:
        return
    body = text.strip().removeprefix("$")
    assert not set(body) & set(",$e% -")
    assert Decimal(cents) / 100 == Decimal(body)


@pytest.mark.parametrize("text", ["-0", "-0.00", "$-0", "-$0"])
def test_money_is_never_written_with_a_minus_even_for_nothing(text):
    """Found by Hypothesis in a full run: ``-0`` read as 0 cents; money text has no minus."""
    with pytest.raises(ValueError):
        parse_money_cents(text)


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    locale=st.sampled_from(LOCALE_NAMES),
    iso=st.booleans(),
)
def test_a_date_typed_in_the_sheets_locale_reads_as_that_day(day, locale, iso):
    """Invariant: a date typed as the spreadsheet's locale writes it (``12/1/2026`` in en_US,
    ``01.12.2026`` in de_DE, ``01/12/2026`` in en_GB and fr_FR) or in ISO reads as that day:
    the serial number carries no day/month order."""
    text = day.isoformat() if iso else show_date((day - EPOCH).days, "DATE", locale)
    assert parse_date(_typed_in(text, locale)) == day


@given(day=st.dates(min_value=date(2000, 1, 13), max_value=date(2099, 12, 31)))
def test_date_text_other_than_iso_is_refused(day):
    """Invariant: a date that stayed text is read only as ISO; ``M/D/YYYY``, ``D/M/YYYY`` and
    ``D.M.YYYY`` text is refused (which order the person meant depends on their locale)."""
    assert parse_date(f" {day.isoformat()} ") == day
    for text in (f"{day.month}/{day.day}/{day.year}", f"{day.day}.{day.month}.{day.year}"):
        with pytest.raises(ValueError, match="expected a date like 2026-12-01"):
            parse_date(text)


@given(
    value=st.decimals(min_value=-180, max_value=180, places=6, allow_nan=False),
    locale=st.sampled_from(LOCALE_NAMES),
)
def test_a_number_typed_in_the_sheets_locale_reads_exactly(value, locale):
    """Invariant: a number (a threshold, a latitude) typed with the locale's decimal separator
    reads back as exactly that number."""
    loc = LOCALES[locale]
    text = format(value, "f").replace(".", loc.decimal)
    assert parse_decimal(_typed_in(text, locale)) == value


@given(locale=st.sampled_from(LOCALE_NAMES), truth=st.booleans())
def test_a_boolean_typed_in_the_sheets_locale_reads_as_typed(locale, truth):
    """Invariant: the locale's own TRUE/FALSE word (``WAHR``, ``VRAI``...) is a boolean cell
    and reads as itself."""
    loc = LOCALES[locale]
    assert parse_boolean(_typed_in(loc.true if truth else loc.false, locale)) is truth


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("3,50", "decimal comma"),
        ("1,200", "decimal comma"),
        ("1e2", "scientific notation"),
        ("80%", "percentage"),
        ("3.50 €", "only digits"),
        ("1.200", "ambiguous"),
    ],
)
def test_refused_text_says_what_was_expected(text, words):
    with pytest.raises(ValueError, match="expected a number like") as caught:
        parse_decimal(text)
    assert words in str(caught.value) and repr(text) in str(caught.value)


def test_serial_numbers_outside_plausible_years_and_times_of_day_are_refused():
    assert parse_date(46357) == date(2026, 12, 1) and parse_date(46357.0) == date(2026, 12, 1)
    with pytest.raises(ValueError, match=r"the number 350 \(1900-12-15\)"):
        parse_date(350)  # a number typed into a date column
    with pytest.raises(ValueError, match="without a time of day"):
        parse_date(46357.5)
    with pytest.raises(ValueError, match="a TRUE/FALSE cell"):
        parse_decimal(True)
    with pytest.raises(ValueError, match="whole number"):
        parse_count(2.5)
    assert date(1899, 12, 30) + timedelta(days=46357) == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("raw", "cents"), [(None, 5000), ("", 5000), ("75", 7500), ("12.50", 1250), ("$60", 6000)]
)
def test_the_pay_bound_setting(monkeypatch, raw, cents):
    if raw is None:
        monkeypatch.delenv("COLLECTOR_MAX_PAY_PER_VIDEO_USD", raising=False)
    else:
        monkeypatch.setenv("COLLECTOR_MAX_PAY_PER_VIDEO_USD", raw)
    assert settings.max_pay_per_video_cents() == cents


@pytest.mark.parametrize("raw", ["0", "-5", "1,000", "fifty", "50.001"])
def test_a_malformed_pay_bound_is_a_configuration_error(monkeypatch, raw):
    monkeypatch.setenv("COLLECTOR_MAX_PAY_PER_VIDEO_USD", raw)
    with pytest.raises(settings.ConfigurationError, match="COLLECTOR_MAX_PAY_PER_VIDEO_USD"):
        settings.max_pay_per_video_cents()


# --- Issue 21: cells from outside are never formulas (OWASP CSV injection) -----------------


def test_text_starting_a_formula_gets_a_quote_and_numbers_stay_numbers():
    for text in ('=HYPERLINK("x")', "+1+1", "-2+3@x.com", "@SUM(A1)", "\tx", "\rx", "＝1+1"):
        assert neutral_cell(text) == "'" + text
    assert neutral_cell("  =1+1") == "'  =1+1"  # leading spaces do not hide a formula
    for kept in (-3.5, 0, 12, None, True, "-3.50", "-12", "ann@x.org", "", "$3.50"):
        assert neutral_cell(kept) == kept
    assert neutral_row(["=1", 2, "ok"]) == ["'=1", 2, "ok"]


@given(st.text())
def test_a_neutral_cell_never_starts_a_formula(text):
    cell = neutral_cell(text)
    stripped = cell.lstrip(" ")
    is_number = cell == text and text.lstrip("-").replace(".", "", 1).isdigit()
    assert not stripped or stripped[0] not in FORMULA_TRIGGERS or is_number
    assert cell in (text, "'" + text)


@example(text="-3.50", locale="de_DE")
@example(text="-", locale="en_US")
@given(text=st.text(), locale=st.sampled_from(LOCALE_NAMES))
def test_a_neutral_cell_typed_into_sheets_is_text_and_reads_as_given(text, locale):
    """Invariant: outside text through :func:`neutral_cell`, written USER_ENTERED into a
    spreadsheet of any emulated locale, is never stored as a formula; when it got a quote, it
    reads back as the text given under every render option (Sheets keeps the apostrophe as a
    flag, never in the value)."""
    from sandbox.google.cells import is_formula

    cell = neutral_cell(text)
    stored, pattern = parse_user_entered(cell, locale)
    assert not is_formula(stored, pattern), (cell, stored)
    if cell != text:
        for option in ("FORMULA", "UNFORMATTED_VALUE", "FORMATTED_VALUE"):
            assert rendered(stored, option, pattern, locale) == text
