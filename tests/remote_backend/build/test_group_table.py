"""``GroupTable``: every row of a key is found, through any sequence of inserts,
deletes and folds; only rows of a key of the same hash may come with them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.build import group_table
from remote_backend.build.group_table import GroupTable, digest


class Colliding(str):
    """A key whose hash is another's: the collision case, on purpose."""

    def __hash__(self) -> int:
        return hash("a.example.com")


ALL_KEYS: list[object] = [
    "a.example.com",
    Colliding("z.example.com"),
    "b.example.com",
    "aa:bb",
    167772161,
    (1 << 128) | 167772161,
    1 << 128,
]
KEYS = st.sampled_from(ALL_KEYS)
ROWS = st.integers(min_value=1, max_value=40)
# ("insert", key, row), or ("delete", i): the i-th pair held (only held pairs are deleted)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), KEYS, ROWS), st.tuples(st.just("delete"), st.integers(0, 99))
    ),
    max_size=60,
)


def expected(held: list[tuple[object, int]], key: object) -> list[int]:
    """What the table returns for ``key``: its rows and those of keys of its hash."""
    return sorted({r for k, r in held if digest(k) == digest(key)})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEYS, ROWS), max_size=30), OPS, st.sampled_from([1, 3, 4096]))
def test_every_row_of_a_key_is_found(
    initial: list[tuple[object, int]], ops: list[tuple[object, ...]], fold_at: int
) -> None:
    held = list(initial)  # the pairs inserted and not deleted, duplicates included
    table = GroupTable(initial)
    saved = group_table.FOLD_AT
    group_table.FOLD_AT = fold_at  # small: folds happen within the sequence
    try:
        for op in ops:
            if op[0] == "insert":
                _, key, row = op
                table.insert(key, row)
                held.append((key, row))
            elif held:
                key, row = held.pop(int(op[1]) % len(held))  # type: ignore[call-overload]
                table.delete(key, row)
            for k in ALL_KEYS:
                assert table.get(k) == expected(held, k), (op, k)
    finally:
        group_table.FOLD_AT = saved
    table.fold()
    assert table == GroupTable(held)


def test_a_table_built_at_once_equals_one_built_row_by_row() -> None:
    pairs = [(f"h{i % 97}.example.com", i) for i in range(1000)]
    one_by_one = GroupTable()
    for key, row in pairs:
        one_by_one.insert(key, row)
    assert GroupTable(pairs) == one_by_one
    assert GroupTable(pairs).get("h5.example.com") == list(range(5, 1000, 97))
    assert GroupTable(pairs).get("nowhere.example.com") == []


def test_addresses_do_not_collide_by_structure() -> None:
    # Python's hash of an int is the int modulo 2^61 - 1: IPv6 keys (value + 2^128)
    # fell onto IPv4 ones by the hundred; the digest spreads them
    v4 = [167772160 + i for i in range(20_000)]
    v6 = [(1 << 128) | (0x20010DB8 << 96) | (k << 64) | i for k in range(4) for i in range(5_000)]
    keys = v4 + v6
    assert len({digest(k) for k in keys}) == len(keys)
