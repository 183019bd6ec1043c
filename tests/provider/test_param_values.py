"""The trigger form's empty values: None (UI, schedule), "" or spaces (REST, CLI) mean the setting."""

from __future__ import annotations

import pytest

from collector_airflow.param_values import given, text_or_setting


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_means_the_setting(value):
    assert given({"x": value}, "x") is None
    assert given({}, "x") is None
    assert text_or_setting({"x": value}, "x", lambda: "from-setting") == "from-setting"


def test_a_value_given_wins_and_the_setting_is_not_read():
    def setting() -> str:
        raise AssertionError("read only when needed: an unset setting may raise")

    assert text_or_setting({"x": " s3://bucket/in "}, "x", setting) == "s3://bucket/in"
    assert given({"n": 0}, "n") == 0  # zero minutes is a value, not "empty"
    assert given({"f": False}, "f") is False
