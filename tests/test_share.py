"""Parsing a dashboard link's settings: only known keys and values that validate, never an exception."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer import share
from explorer.share import Control, coerce, parse_query

CHOICE = Control("choice", ("zero", "he", "2-10-5-1 (classic)"))
INT = Control("int", low=0, high=1000)
FLOAT = Control("float", low=1e-4, high=10.0)
BOOL = Control("bool")


def test_parse_query_reads_pairs_and_decodes_them():
    params, problems = parse_query("?demo=three-layer&init=zero&seed=3&architecture=2-10-5-1%20(classic)")
    assert params == {"demo": "three-layer", "init": "zero", "seed": "3", "architecture": "2-10-5-1 (classic)"}
    assert problems == []
    assert parse_query("demo=a+b") == ({"demo": "a b"}, [])
    assert parse_query("") == ({}, []) and parse_query(None) == ({}, [])


def test_voilas_own_parameters_are_not_ours():
    assert parse_query("template=lab&theme=dark&token=x&seed=1") == ({"seed": "1"}, [])


def test_a_key_given_twice_keeps_the_last_and_says_so():
    params, problems = parse_query("seed=1&seed=2")
    assert params == {"seed": "2"} and problems == ["'seed' is given more than once; the last value is used"]


def test_an_overlong_or_crowded_query_is_dropped_whole():
    params, problems = parse_query("seed=" + "1" * 3000)
    assert params == {} and "too long" in problems[0]
    params, problems = parse_query("&".join(f"k{i}=1" for i in range(100)))
    assert params == {} and "too many" in problems[0]


@pytest.mark.parametrize("text, value", [("zero", "zero"), ("2-10-5-1 (classic)", "2-10-5-1 (classic)")])
def test_a_choice_must_be_one_of_the_options(text, value):
    assert coerce("init", text, CHOICE) == value


@pytest.mark.parametrize("text", ["Zero", "", "__import__('os').system('ls')", "he; rm -rf /", "x" * 500])
def test_anything_else_is_refused_with_the_options_listed(text):
    with pytest.raises(ValueError, match=r"init=.* is not allowed; valid: zero, he, 2-10-5-1 \(classic\)") as info:
        coerce("init", text, CHOICE)
    assert len(str(info.value)) < 200  # a long value is shortened in the message


@pytest.mark.parametrize("text, value", [("3", 3), ("+7", 7), (" 12 ", 12), ("0", 0), ("1000", 1000)])
def test_integers(text, value):
    assert coerce("seed", text, INT) == value and isinstance(coerce("seed", text, INT), int)


@pytest.mark.parametrize("text, words", [("3.5", "whole number from 0 to 1000"), ("1e3", "whole number"),
                                         ("abc", "whole number"), ("", "whole number"), ("-1", "out of range"),
                                         ("1001", "out of range"), ("9" * 40, "whole number"),
                                         ("0x10", "whole number"), ("1_000", "whole number")])
def test_bad_integers(text, words):
    with pytest.raises(ValueError, match=words):
        coerce("seed", text, INT)


@pytest.mark.parametrize("text, value", [("0.1", 0.1), ("1e-3", 0.001), (".5", 0.5), ("10", 10.0), ("2.", 2.0)])
def test_floats(text, value):
    assert coerce("lr", text, FLOAT) == value


@pytest.mark.parametrize("text, words", [("nan", "must be a number"), ("inf", "must be a number"),
                                         ("1e999", "must be a number"), ("0", "out of range from 0.0001 to 10"),
                                         ("11", "out of range"), ("1,5", "must be a number"),
                                         ("1e5000", "must be a number"), ("", "must be a number")])
def test_bad_floats(text, words):
    with pytest.raises(ValueError, match=words):
        coerce("lr", text, FLOAT)


def test_unbounded_numbers_accept_any_finite_value():
    assert coerce("lr", "-5", Control("float")) == -5.0
    assert coerce("seed", "-5", Control("int")) == -5


@pytest.mark.parametrize("text, value", [("true", True), ("1", True), ("Yes", True), ("on", True),
                                         ("false", False), ("0", False), ("no", False), ("OFF", False)])
def test_booleans(text, value):
    assert coerce("typo", text, BOOL) is value


def test_a_bad_boolean_and_an_unknown_kind_are_refused():
    with pytest.raises(ValueError, match="true or false"):
        coerce("typo", "maybe", BOOL)
    with pytest.raises(ValueError, match="cannot be set"):
        coerce("widths", "1, 2", Control("text"))


def test_make_query_round_trips_through_parse_query():
    values = {"init": "2-10-5-1 (classic)", "seed": 3, "lr": 0.1, "typo": True, "odd": "a&b=c"}
    query = share.make_query("three-layer", values)
    assert query.startswith("?demo=three-layer&init=2-10-5-1%20%28classic%29&seed=3&lr=0.1&typo=true")
    params, problems = parse_query(query)
    assert problems == [] and params == {"demo": "three-layer", **{k: share.format_value(v) for k, v in values.items()}}
    assert float(share.format_value(1 / 3)) == 1 / 3  # floats are written exactly


def test_choose_demo():
    modules = ["three_layer", "nine_layer", "zoo"]
    assert share.choose_demo("nine-layer", modules) == (1, [])
    assert share.choose_demo(None, modules) == (None, [])
    index, problems = share.choose_demo("nine_layer", modules)
    assert index is None and problems == ["demo='nine_layer' is unknown; valid: three-layer, nine-layer, zoo"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_query_makes_parsing_raise(query):
    params, problems = parse_query(query)
    assert isinstance(params, dict) and all(isinstance(p, str) for p in problems)
    for key, text in params.items():
        for control in (CHOICE, INT, FLOAT, BOOL):
            try:
                value = coerce(key, text, control)
            except ValueError:
                continue
            if control is FLOAT:
                assert math.isfinite(value) and 1e-4 <= value <= 10
            if control is INT:
                assert isinstance(value, int) and 0 <= value <= 1000
            if control is CHOICE:
                assert value in CHOICE.choices
