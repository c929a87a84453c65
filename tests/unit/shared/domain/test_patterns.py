"""Patterns: each matcher both ways, context shapes, and every validation error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.errors import Invalid
from shared.domain.patterns import SEGMENT_PATTERN_MAX_LENGTH, compile_pattern


def matches(pattern: object, context: Mapping[str, object]) -> bool:
    return compile_pattern(json.dumps(pattern)).matches(context)


# --- matchers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leaf", "value", "expected"),
    [
        (["Chrome"], "Chrome", True),
        (["Chrome"], "chrome", False),  # case-sensitive, as Evidently documents
        (["Chrome", "Firefox"], "Firefox", True),
        ([""], "", True),
        ([5], 5, True),
        ([5], 5.0, True),
        ([5.0], 5, True),
        ([5], 6, False),
        ([5], "5", False),
        (["5"], 5, False),
        ([True], True, True),
        ([True], 1, False),  # JSON true is not the number 1
        ([1], True, False),
        ([False], 0, False),
        ([False], False, True),
        ([None], None, True),
        ([None], "null", False),
        ([{"prefix": "us-"}], "us-east-1", True),
        ([{"prefix": "us-"}], "eu-west-1", False),
        ([{"prefix": "us-"}], "US-east-1", False),
        ([{"prefix": "1"}], 12, False),  # prefix is for strings only
        ([{"prefix": {"equals-ignore-case": "US-"}}], "us-east-1", True),
        ([{"prefix": {"equals-ignore-case": "US-"}}], "eu-east-1", False),
        ([{"suffix": ".png"}], "cat.png", True),
        ([{"suffix": ".png"}], "cat.PNG", False),
        ([{"suffix": ".png"}], "cat.jpg", False),
        ([{"suffix": {"equals-ignore-case": ".png"}}], "cat.PNG", True),
        ([{"equals-ignore-case": "alice"}], "ALICE", True),
        ([{"equals-ignore-case": "alice"}], "alicia", False),
        ([{"equals-ignore-case": "1"}], 1, False),
        ([{"wildcard": "*.example.com"}], "api.example.com", True),
        ([{"wildcard": "*.example.com"}], "example.com", False),
        ([{"wildcard": "a*b*c"}], "abc", True),
        ([{"wildcard": "a*b*c"}], "a-b-b-c", True),
        ([{"wildcard": "a*b*c"}], "a-c-b", False),
        ([{"wildcard": "a*ba"}], "aba", True),
        ([{"wildcard": "ab*ba"}], "aba", False),  # prefix and suffix may not overlap
        ([{"wildcard": "a*b*b*a"}], "aba", False),  # one b cannot serve two stars
        ([{"wildcard": "a*b*b*a"}], "abba", True),
        ([{"wildcard": "*ab*ab*"}], "xaby", False),
        ([{"wildcard": "*ab*ab*"}], "abab", True),
        ([{"wildcard": "no-star"}], "no-star", True),
        ([{"wildcard": "no-star"}], "no-stars", False),
        ([{"wildcard": "a\\*b"}], "a*b", True),
        ([{"wildcard": "a\\*b"}], "axb", False),
        ([{"wildcard": "a\\\\*"}], "a\\xyz", True),
        ([{"wildcard": "*"}], "", True),
        ([{"wildcard": "*"}], 3, False),
    ],
)
def test_leaf_matcher(leaf: list[object], value: object, expected: bool) -> None:
    assert matches({"k": leaf}, {"k": value}) is expected


@pytest.mark.parametrize(
    ("numeric", "value", "expected"),
    [
        ([">", 0, "<=", 5], 0, False),
        ([">", 0, "<=", 5], 0.0001, True),
        ([">", 0, "<=", 5], 5, True),
        ([">", 0, "<=", 5], 5.0, True),
        ([">", 0, "<=", 5], 5.0001, False),
        ([">=", 0, "<", 5], 0, True),
        ([">=", 0, "<", 5], -0.0, True),
        ([">=", 0, "<", 5], 5, False),
        ([">=", 0, "<", 5], 4.999, True),
        (["=", 3], 3, True),
        (["=", 3], 3.0, True),
        (["=", 3.5], 3.5, True),
        (["=", 3], 3.0000001, False),
        (["<", 10], -1e300, True),
        (["<", 10], 10, False),
        (["<=", 10], 10, True),
        ([">", -1.5], -1.5, False),
        ([">=", -1.5], -1.5, True),
        ([">", 2**53], 2**53 + 1, True),  # ints compare exactly, not through floats
        ([">", 0], "5", False),  # numeric is for JSON numbers only
        ([">", 0], True, False),
        ([">", 0], None, False),
        ([">", 0], float("nan"), False),
    ],
)
def test_numeric(numeric: list[object], value: object, expected: bool) -> None:
    assert matches({"k": [{"numeric": numeric}]}, {"k": value}) is expected


@pytest.mark.parametrize(
    ("operand", "value", "expected"),
    [
        ("initializing", "running", True),
        ("initializing", "initializing", False),
        ("initializing", 7, True),
        (123, 123, False),
        (123, 123.0, False),
        (123, 124, True),
        (123, "123", True),
        (["stopped", "overloaded"], "running", True),
        (["stopped", "overloaded"], "stopped", False),
        (["stopped", "overloaded"], "overloaded", False),
        ([1, 2], 2, False),
        ([1, 2], 3, True),
        ({"prefix": "us-"}, "eu-west-1", True),
        ({"prefix": "us-"}, "us-east-1", False),
        ({"prefix": "us-"}, 5, True),
        ({"suffix": ".png"}, "a.jpg", True),
        ({"suffix": ".png"}, "a.png", False),
        ({"equals-ignore-case": "init"}, "INIT", False),
        ({"equals-ignore-case": "init"}, "run", True),
        ({"equals-ignore-case": ["a", "b"]}, "B", False),
        ({"equals-ignore-case": ["a", "b"]}, "c", True),
        ({"wildcard": "*/lib/*"}, "/usr/lib/x", False),
        ({"wildcard": "*/lib/*"}, "/usr/bin/x", True),
        ({"wildcard": ["a*", "*z"]}, "abz", False),
        ({"wildcard": ["a*", "*z"]}, "bzy", True),
    ],
)
def test_anything_but(operand: object, value: object, expected: bool) -> None:
    assert matches({"k": [{"anything-but": operand}]}, {"k": value}) is expected


def test_anything_but_does_not_match_a_missing_key() -> None:
    pattern = {"k": [{"anything-but": "x"}]}
    assert not matches(pattern, {})
    assert not matches(pattern, {"k": []})


def test_exists() -> None:
    present = {"k": [{"exists": True}]}
    absent = {"k": [{"exists": False}]}
    for value in ("", 0, False, None, "x", [1]):
        assert matches(present, {"k": value})
        assert not matches(absent, {"k": value})
    contexts: list[dict[str, object]] = [{}, {"k": []}, {"other": 1}]
    for context in contexts:
        assert not matches(present, context)
        assert matches(absent, context)


def test_exists_only_sees_leaves() -> None:
    # As in EventBridge: an object is not a leaf, so it neither "exists" here
    # nor stops exists:false from matching.
    assert not matches({"k": [{"exists": True}]}, {"k": {"a": 1}})
    assert matches({"k": [{"exists": False}]}, {"k": {"a": 1}})


def test_exists_false_or_a_value() -> None:
    pattern = {"tier": [{"exists": False}, "gold"]}
    assert matches(pattern, {})
    assert matches(pattern, {"tier": "gold"})
    assert not matches(pattern, {"tier": "silver"})


def test_missing_keys_match_nothing_but_exists_false() -> None:
    for leaf in (["x"], [None], [{"prefix": ""}], [{"numeric": [">", 0]}], [{"wildcard": "*"}]):
        assert not matches({"k": leaf}, {})


# --- structure --------------------------------------------------------------------


def test_all_keys_must_match() -> None:
    pattern = {"browser": ["Chrome"], "country": ["DE", "FR"]}
    assert matches(pattern, {"browser": "Chrome", "country": "FR", "ignored": 1})
    assert not matches(pattern, {"browser": "Chrome", "country": "US"})
    assert not matches(pattern, {"browser": "Chrome"})


def test_nested_objects() -> None:
    pattern = {"user": {"address": {"country": ["DE"]}, "age": [{"numeric": [">=", 18]}]}}
    assert matches(pattern, {"user": {"address": {"country": "DE"}, "age": 30}})
    assert not matches(pattern, {"user": {"address": {"country": "US"}, "age": 30}})
    assert not matches(pattern, {"user": {"address": "DE", "age": 30}})
    assert not matches(pattern, {"user": "x"})
    assert not matches(pattern, {})


def test_nested_exists_false_when_parent_missing() -> None:
    pattern = {"user": {"beta": [{"exists": False}]}}
    assert matches(pattern, {})
    assert matches(pattern, {"user": {}})
    assert matches(pattern, {"user": "scalar"})
    assert not matches(pattern, {"user": {"beta": True}})


def test_array_context_matches_if_any_element_does() -> None:
    assert matches({"tags": ["beta"]}, {"tags": ["alpha", "beta"]})
    assert not matches({"tags": ["beta"]}, {"tags": ["alpha", "gamma"]})
    assert matches({"tags": [{"prefix": "b"}]}, {"tags": [["a"], ["be"]]})
    assert matches({"n": [{"numeric": [">", 10]}]}, {"n": [1, 2, 30]})
    assert not matches({"n": [{"numeric": [">", 10]}]}, {"n": [1, 2, 3]})
    # EventBridge semantics: some element is not "a".
    assert matches({"tags": [{"anything-but": "a"}]}, {"tags": ["a", "b"]})
    assert not matches({"tags": [{"anything-but": "a"}]}, {"tags": ["a", "a"]})


def test_nested_pattern_over_array_of_objects_needs_one_element_to_match_whole() -> None:
    pattern = {"items": {"sku": ["A"], "qty": [{"numeric": [">", 1]}]}}
    assert matches(pattern, {"items": [{"sku": "B", "qty": 5}, {"sku": "A", "qty": 2}]})
    assert not matches(pattern, {"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]})
    assert matches({"items": {"gift": [{"exists": False}]}}, {"items": [{"sku": "A"}]})


def test_pattern_is_immutable_hashable_and_structural() -> None:
    a = compile_pattern('{"k": ["x", {"prefix": "y"}]}')
    b = compile_pattern('{ "k" : [ "x" , {"prefix":"y"} ] }')
    assert a == b
    assert hash(a) == hash(b)
    assert {a, b} == {a}
    assert a.source == '{"k": ["x", {"prefix": "y"}]}'
    assert a != compile_pattern('{"k": ["x", {"suffix": "y"}]}')
    with pytest.raises(AttributeError):
        a.root = b.root  # type: ignore[misc]


def test_context_may_be_any_mapping() -> None:
    class Frozen(Mapping[str, object]):
        def __init__(self, **items: object) -> None:
            self._items = items

        def __getitem__(self, key: str) -> object:
            return self._items[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self._items)

        def __len__(self) -> int:
            return len(self._items)

    assert compile_pattern('{"k": ["v"]}').matches(Frozen(k="v"))


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ('{"k": ["x"]} trailing', "not valid JSON"),
        ('{"k": [NaN]}', "NaN is not a JSON value"),
        ('{"k": [Infinity]}', "Infinity is not a JSON value"),
        ('{"k": [1e999]}', "numbers must be finite"),
        ('{"k": [1], "k": [2]}', "duplicate key 'k'"),
        ("[]", "must be a JSON object, got array"),
        ('"x"', "must be a JSON object, got string"),
        ("null", "must be a JSON object, got null"),
        ("{}", "at least one key"),
        ('{"a": {}}', "at a: an object must have at least one key"),
        ('{"k": "x"}', "at k: must be an array of matchers or an object, got string"),
        ('{"k": 5}', "got number"),
        ('{"k": null}', "got null"),
        ('{"k": []}', "at k: an array of matchers must not be empty"),
        ('{"k": [["x"]]}', "at k[0]: a matcher must be a value or an object, got array"),
        ('{"k": [{}]}', "exactly one key, got 0"),
        ('{"k": [{"prefix": "a", "suffix": "b"}]}', "exactly one key, got 2"),
        ('{"k": [{"contains": "a"}]}', "unknown matcher 'contains'"),
        ('{"k": [{"cidr": "10.0.0.0/8"}]}', "unknown matcher 'cidr'"),
        ('{"$or": [{"a": ["x"]}, {"b": ["y"]}]}', "unknown matcher"),
        ('{"k": [{"prefix": 1}]}', "at k[0].prefix: prefix takes a string"),
        ('{"k": [{"prefix": {"nope": "a"}}]}', "prefix takes a string"),
        ('{"k": [{"suffix": ["a"]}]}', "suffix takes a string"),
        ('{"k": [{"equals-ignore-case": 1}]}', "equals-ignore-case takes a string"),
        ('{"k": [{"wildcard": null}]}', "wildcard takes a string"),
        ('{"k": [{"wildcard": "a**b"}]}', "consecutive *"),
        ('{"k": [{"wildcard": "a\\\\b"}]}', "escapes only"),
        ('{"k": [{"exists": "true"}]}', "exists takes true or false, got string"),
        ('{"k": [{"exists": 1}]}', "exists takes true or false, got number"),
        ('{"k": [{"numeric": 5}]}', "numeric takes [operator, number]"),
        ('{"k": [{"numeric": []}]}', "numeric takes"),
        ('{"k": [{"numeric": [">"]}]}', "numeric takes"),
        ('{"k": [{"numeric": [">", 1, "<"]}]}', "numeric takes"),
        ('{"k": [{"numeric": [">", 1, "<", 5, "=", 3]}]}', "numeric takes"),
        ('{"k": [{"numeric": ["!=", 1]}]}', "at k[0].numeric[0]: numeric operator must be"),
        ('{"k": [{"numeric": [1, ">"]}]}', "numeric operator must be"),
        ('{"k": [{"numeric": [">", "1"]}]}', "at k[0].numeric[1]: numeric bounds must be numbers"),
        ('{"k": [{"numeric": [">", true]}]}', "numeric bounds must be numbers, got boolean"),
        ('{"k": [{"numeric": ["<", 5, ">", 0]}]}', "numeric takes"),
        ('{"k": [{"numeric": [">", 0, ">", 5]}]}', "numeric takes"),
        ('{"k": [{"numeric": ["=", 0, "<", 5]}]}', "numeric takes"),
        ('{"k": [{"numeric": [">", 5, "<", 5]}]}', "lower bound 5 must be below upper bound 5"),
        ('{"k": [{"numeric": [">=", 9, "<=", 1]}]}', "must be below"),
        ('{"k": [{"anything-but": true}]}', "anything-but takes"),
        ('{"k": [{"anything-but": null}]}', "anything-but takes"),
        ('{"k": [{"anything-but": []}]}', "anything-but takes"),
        ('{"k": [{"anything-but": ["a", 1]}]}', "anything-but takes"),
        ('{"k": [{"anything-but": [["a"]]}]}', "anything-but takes"),
        ('{"k": [{"anything-but": {"numeric": [">", 1]}}]}', "anything-but takes"),
        ('{"k": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}', "anything-but takes"),
        ('{"k": [{"anything-but": {"prefix": 1}}]}', "anything-but.prefix: prefix takes"),
        ('{"k": [{"anything-but": {"equals-ignore-case": []}}]}', "anything-but takes"),
        ('{"k": [{"anything-but": {"wildcard": ["a", 1]}}]}', "wildcard[1]: wildcard takes"),
        ("[" * 100_000 + "]" * 100_000, ""),
    ],
)
def test_validation_errors_name_the_field(text: str, says: str) -> None:
    with pytest.raises(Invalid) as caught:
        compile_pattern(text, field="eventPattern")
    error = caught.value
    assert error.message.startswith("eventPattern ")
    assert says in error.message
    assert error.field == "eventPattern"


def test_max_length() -> None:
    text = json.dumps({"k": ["x" * (SEGMENT_PATTERN_MAX_LENGTH - 11)]})
    assert len(text) == SEGMENT_PATTERN_MAX_LENGTH
    compile_pattern(text, max_length=SEGMENT_PATTERN_MAX_LENGTH)
    compile_pattern(text + " ")  # no limit unless asked
    with pytest.raises(Invalid, match="pattern must be at most 1024 characters"):
        compile_pattern(text + " ", max_length=SEGMENT_PATTERN_MAX_LENGTH)


def test_default_field_is_pattern() -> None:
    with pytest.raises(Invalid) as caught:
        compile_pattern("{}")
    assert caught.value.field == "pattern"


# --- properties ------------------------------------------------------------------------

scalars = (
    st.text(max_size=8)
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
contexts = st.dictionaries(st.text(min_size=1, max_size=6), scalars, min_size=1, max_size=6)


@given(contexts)
def test_exact_pattern_of_a_context_matches_it(context: dict[str, object]) -> None:
    pattern = compile_pattern(json.dumps({k: [v] for k, v in context.items()}))
    assert pattern.matches(context)


@given(contexts, st.data())
def test_exact_pattern_rejects_a_changed_value(
    context: dict[str, object], data: st.DataObject
) -> None:
    pattern = compile_pattern(json.dumps({k: [v] for k, v in context.items()}))
    key = data.draw(st.sampled_from(sorted(context)))
    old = context[key]
    new = data.draw(scalars.filter(lambda v: not _json_equal(v, old)))
    assert not pattern.matches({**context, key: new})


def _json_equal(a: object, b: object) -> bool:
    """Equal as JSON values: true is not 1, but 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    return a == b


@given(
    st.text("ab", max_size=2),
    st.lists(st.text("ab", min_size=1, max_size=3), max_size=3),
    st.text("ab", max_size=2),
    st.text("ab", max_size=8),
)
def test_wildcard_agrees_with_a_regex(first: str, middle: list[str], last: str, value: str) -> None:
    # Non-empty middle runs keep stars apart; the regex is the independent reference.
    parts = [first, *middle, last]
    pattern = compile_pattern(json.dumps({"k": [{"wildcard": "*".join(parts)}]}))
    reference = re.fullmatch(".*".join(map(re.escape, parts)), value, re.DOTALL)
    assert pattern.matches({"k": value}) is (reference is not None)


@given(st.text(max_size=10), st.text(max_size=10), st.text(max_size=10))
def test_wildcard_escapes_stars_and_backslashes(head: str, middle: str, tail: str) -> None:
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("*", "\\*")

    pattern = compile_pattern(json.dumps({"k": [{"wildcard": f"{escape(head)}*{escape(tail)}"}]}))
    assert pattern.matches({"k": head + middle + tail})
