"""The Jayway JsonPath subset behind ``${...}`` paths (REFERENCE §2.4).

Expected values are what Jayway 2.10 answers for the same document and path, except where a test says it
pins a deliberate difference.
"""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.engine.jsonpath import PathSyntaxError, compile_path, lookup, read

BOOKS = [
    {"category": "reference", "author": "Rees", "title": "Sayings", "price": 8.95},
    {"category": "fiction", "author": "Waugh", "title": "Sword", "price": 12.99, "isbn": "0-553"},
    {"category": "fiction", "author": "Melville", "title": "Moby Dick", "isbn": "0-395", "price": 8.99},
    {"category": "fiction", "author": "Tolkien", "title": "The Lord", "isbn": "0-395-1", "price": 22.99},
]
DOC: dict[str, Any] = {
    "store": {"book": BOOKS, "bicycle": {"color": "red", "price": 19.95}},
    "expensive": 10,
    "key with space": "spaced",
    "it's": "quoted",
    "nums": [3, -1, 4.5, 0],
    "nested": {"a": {"b": {"c": 1}}, "none": None, "flag": False},
    "text": "hello",
    "empty": [],
    "items": [
        {"id": "a", "n": 5, "s": "5", "tags": ["x", "y"], "z": None},
        {"id": "b", "n": 6, "s": "6", "tags": []},
        {"id": "c", "n": 7.0, "s": "x", "flag": True},
    ],
}
TITLES = [book["title"] for book in BOOKS]


def ids(*names: str) -> list[dict[str, Any]]:
    return [item for item in DOC["items"] if item["id"] in names]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # roots and definite paths
        ("$.expensive", 10),
        ("expensive", 10),
        ("@.expensive", 10),
        ("$['expensive']", 10),
        ('$["expensive"]', 10),
        ("$['key with space']", "spaced"),
        ("['key with space']", "spaced"),
        ("$['it\\'s']", "quoted"),
        ("store.bicycle.color", "red"),
        ("store['bicycle']['color']", "red"),
        ("$.store.bicycle", {"color": "red", "price": 19.95}),
        ("nested.a.b.c", 1),
        ("nested.none", None),
        ("nested.flag", False),
        ("$", DOC),
        # missing segments of a definite path
        ("$.missing", None),
        ("$.missing.deeper.still", None),
        ("$.text.length.x", None),
        ("$.nested.none.x", None),
        ("$.nums.x", None),
        # indexes
        ("nums[0]", 3),
        ("nums[-1]", 0),
        ("nums[-4]", 3),
        ("nums[-5]", None),
        ("nums[4]", None),
        ("$.[0]", None),
        ("store.book[1].title", "Sword"),
        ("store.book[-1].title", "The Lord"),
        ("nums[0,2]", [3, 4.5]),
        ("nums[ 0 , -1 ]", [3, 0]),
        ("nums[0,9]", [3]),
        ("text[0]", None),
        # slices, with Jayway's arithmetic
        ("nums[1:3]", [-1, 4.5]),
        ("nums[:2]", [3, -1]),
        ("nums[-2:]", [4.5, 0]),
        ("nums[:-1]", [3, -1, 4.5]),
        ("nums[2:]", [4.5, 0]),
        ("nums[-10:]", [3, -1, 4.5, 0]),
        ("nums[10:]", []),
        ("nums[1:-1]", []),
        ("nums[-1:2]", [0, 3, -1]),
        ("nums[0:2:9]", [3, -1]),
        ("empty[0:2]", []),
        ("text[0:2]", []),
        # wildcards
        ("nums[*]", [3, -1, 4.5, 0]),
        ("store.bicycle.*", ["red", 19.95]),
        ("store.bicycle[*]", ["red", 19.95]),
        ("store.book[*].title", TITLES),
        ("store.book[*].isbn", ["0-553", "0-395", "0-395-1"]),
        ("text[*]", []),
        ("items[*].tags[*]", ["x", "y"]),
        # deep scan: pre-order, every depth
        ("$..title", TITLES),
        ("$.store..price", [8.95, 12.99, 8.99, 22.99, 19.95]),
        (".title", TITLES),
        ("$..c", [1]),
        ("$..missing", []),
        ("$.nested..*", [{"b": {"c": 1}}, None, False, {"c": 1}, 1]),
        ("$..book[0].title", ["Sayings"]),
        ("$..tags[0]", ["x"]),
        ("$..[0]", [BOOKS[0], 3, DOC["items"][0], "x"]),
        ("$..['color','price']", [{"color": "red", "price": 19.95}]),
        # several names: a merged map on the last step, one value each elsewhere
        ("store.bicycle['color','price']", {"color": "red", "price": 19.95}),
        ("store.bicycle['color','missing']", {"color": "red"}),
        ("store.bicycle['missing','other']", {}),
        ("store['bicycle','missing'].color", ["red"]),
        # filters
        ("store.book[?(@.price < 10)].title", ["Sayings", "Moby Dick"]),
        ("store.book[?(@.price <= 8.99)].title", ["Sayings", "Moby Dick"]),
        ("store.book[?(@.price > 20)].title", ["The Lord"]),
        ("store.book[?(@.price >= 22.99)].title", ["The Lord"]),
        ("store.book[?(@.category == 'reference')].title", ["Sayings"]),
        ('store.book[?(@.category == "reference")].title', ["Sayings"]),
        ("store.book[?(@.category != 'fiction')].title", ["Sayings"]),
        ("store.book[?(@.category=='reference')].title", ["Sayings"]),
        ("store.book[?(@.isbn)].title", ["Sword", "Moby Dick", "The Lord"]),
        ("store.book[?(!@.isbn)].title", ["Sayings"]),
        ("store.book[?(@.price < 10 && @.category == 'fiction')].title", ["Moby Dick"]),
        ("store.book[?(@.price < 9 || @.price > 20)].title", ["Sayings", "Moby Dick", "The Lord"]),
        ("store.book[?(@.price > 9 && @.price < 20 || @.author == 'Rees')].title", ["Sayings", "Sword"]),
        ("store.book[?((@.price < 9 || @.price > 20) && @.isbn)].title", ["Moby Dick", "The Lord"]),
        ("store.book[?(!(@.category == 'fiction'))].title", ["Sayings"]),
        ("store.book[?(@.price < $.expensive)].title", ["Sayings", "Moby Dick"]),
        ("store.book[?(@['category'] == 'reference')].title", ["Sayings"]),
        ("store.book[?(@.title == 'Nope')]", []),
        ("store.bicycle[?(@.color == 'red')]", [{"color": "red", "price": 19.95}]),
        ("nums[?(@ > 0)]", [3, 4.5]),
        ("nums[?(@ == 0)]", [0]),
        ("items[?(@.tags.length() == 2)].id", ["a"]),
        ("items[?(@.tags[0] == 'x')].id", ["a"]),
        ("$..book[?(@.price > 20)].author", ["Tolkien"]),
        ("$..[?(@.color)]", [{"color": "red", "price": 19.95}]),
        ("$..items[?(@.flag)].id", ["c"]),
        # Jayway value rules: numbers and strings, null and missing, booleans
        ("items[?(@.n == '5')].id", ["a"]),
        ("items[?(@.s == 5)].id", ["a"]),
        ("items[?(@.s == 5.0)].id", []),
        ("items[?(@.n == 7)].id", ["c"]),
        ("items[?(@.n < '6')].id", []),
        ("items[?(@.s < '6')].id", ["a"]),
        ("items[?(@.z == null)].id", ["a", "b", "c"]),
        ("items[?(@.z != null)].id", []),
        ("items[?(@.z)].id", ["a"]),
        ("items[?(@.flag == true)].id", ["c"]),
        ("items[?(@.flag != true)].id", ["a", "b"]),
        ("items[?(@.flag == 'true')].id", []),
        ("items[?($.text)].id", []),
        # functions
        ("nums.length()", 4),
        ("nums.size()", 4),
        ("store.bicycle.length()", 2),
        ("text.length()", None),
        ("missing.length()", None),
        ("empty.length()", 0),
        ("store.bicycle.keys()", ["color", "price"]),
        ("nums.first()", 3),
        ("nums.last()", 0),
        ("nums.min()", -1.0),
        ("nums.max()", 4.5),
        ("nums.sum()", 6.5),
        ("nums.avg()", 1.625),
        ("empty.sum()", None),
        ("empty.first()", None),
        ("text.first()", None),
        ("store.book[*].title.length()", [None, None, None, None]),
        ("items[*].tags.length()", [2, 0]),
        ("$..price.sum()", 73.87),
        ("$..tags.length()", 2),
        ("$..title.length()", 0),
        # a filter over a primitive after definite steps fails the read
        ("text[?(@.x)]", None),
        ("nested.none[?(@.x)]", None),
        ("items[*].id[?(@.x)]", []),
    ],
)
def test_read(path: str, expected: Any) -> None:
    assert read(DOC, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "a b",
        " expensive",
        " $.expensive",
        "$expensive",
        "$.a.",
        "..title",
        "$.a..",
        "$...a",
        "nums[0",
        "nums[a]",
        "nums[1 2]",
        "nums[:]",
        "nums[0,]",
        "nums[99999999999]",
        "$['a",
        "$['a' 'b']",
        "$['a',\"b\"]",
        "$.a[?(@.b == 'x']",
        "$.a[?(@.b = 'x')]",
        "$.a[?('x')]",
        "$.a.nope()",
        "$.a.concat('x')",
        "$.a.length().b",
        "$..length()",
        "$.a['\\uzzzz']",
    ],
)
def test_malformed_paths_read_as_none(path: str) -> None:
    assert read(DOC, path) is None


@pytest.mark.parametrize(
    "path", ["$.a b", "$x", "$.", "$[", "$.a[?(@.b ~~ 1)]", "$.x.nope()", "$.a.length().b"]
)
def test_compile_path_raises_where_jayway_refuses(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(path)


@pytest.mark.parametrize(
    ("path", "definite"),
    [
        ("$.a.b", True),
        ("$.a[0]", True),
        ("$.a['x','y']", True),
        ("$..x.length()", True),
        ("$.a.length()", True),
        ("$.a[*]", False),
        ("$.a[0,1]", False),
        ("$.a[0:1]", False),
        ("$..a", False),
        ("$.a[?(@.b)]", False),
        ("$.a['x','y'].z", False),
        ("$.a[*].length()", False),
    ],
)
def test_definite_paths(path: str, definite: bool) -> None:
    assert compile_path(path).definite is definite


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.expensive[", 10),  # one character left after a token is ignored
        ("$.expensive ", 10),
        ("$['expensive']x", 10),
        ("$.nums.length()x", 4),
    ],
)
def test_jayway_leniencies(path: str, expected: Any) -> None:
    assert read(DOC, path) == expected


def test_deliberate_differences_from_jayway() -> None:
    # Jayway starts max() from Double.MIN_VALUE (4.9E-324 for [-3, -1]) and fails last() on a one-item list.
    assert read({"a": [-3, -1], "b": [9]}, "a.max()") == -1.0
    assert read({"a": [-3, -1], "b": [9]}, "b.last()") == 9
    # After a deep scan, Jayway applies the step following a non-final index to every element of every
    # array it visits (here also yielding {"k": 1} and the wrong items); the steps apply as written here.
    assert read({"a": [[{"k": 1}], [{"k": 2}, {"k": 3}]]}, "$..[1][*]") == [{"k": 2}, {"k": 3}, 3]


@pytest.mark.parametrize(
    "path",
    [
        "items[?(@.s =~ /5/)]",
        "items[?(@.s in ['5'])]",
        "items[?(@.s nin ['5'])]",
        "items[?(@.tags == ['x', 'y'])]",
        "items[?(@.s === '5')]",
        "items[?(@.tags contains 'x')]",
        "items[?(@.tags size 2)]",
    ],
)
def test_unsupported_filter_operators_read_as_none(path: str) -> None:
    # Jayway supports these; they are out of scope here and read like a malformed path.
    assert read(DOC, path) is None


def test_lookup_caches_compiled_paths_and_failures() -> None:
    assert lookup("store.book[*].title") is lookup("store.book[*].title")
    assert lookup("a b") is None


def test_reading_never_changes_the_document() -> None:
    document = {"a": [{"b": 1}, {"b": 2}], "m": {"x": 1}}
    snapshot = repr(document)
    for path in ("a[*].b", "$..b", "a[?(@.b > 1)]", "m['x','y']", "a.length()", "a[0:1]"):
        read(document, path)
    assert repr(document) == snapshot


def test_reads_mappings_that_are_not_dicts() -> None:
    from types import MappingProxyType

    document = MappingProxyType({"a": MappingProxyType({"b": [1, 2]})})
    assert read(document, "a.b[1]") == 2
    assert read(document, "$..b") == [[1, 2]]
