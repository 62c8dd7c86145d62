"""``merge_columns`` (the rows held, patched with an incremental read) equals the
merge of the same rows by id, whichever path it takes: edits only (only the columns
that differ are copied), a few inserts and deletes (lists edited), or many (rebuilt).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.build.merge import merge_columns
from validators.model import AddressColumns, AddressRow

_rows = st.builds(
    AddressRow,
    id=st.integers(1, 1000),
    subnet_id=st.sampled_from([1, 2, None]),
    ip_addr=st.sampled_from(["10.0.0.1", "167772161", "2001:db8::1", None]),
    hostname=st.sampled_from(["a.example.com", "b.example.com", "", None]),
    mac=st.sampled_from(["02:00:00:00:00:01", None]),
    state=st.sampled_from([1, 2, None]),
    ptr_ignore=st.booleans(),
)


def _unique(rows: list[AddressRow]) -> list[AddressRow]:
    return list({r.id: r for r in rows}.values())


def _as_rows(columns: AddressColumns) -> list[AddressRow]:
    return [columns.row(i) for i in range(len(columns.ids))]


@settings(max_examples=300)
@given(
    st.lists(_rows, max_size=300).map(_unique),
    st.lists(_rows, max_size=300).map(_unique),
    st.sets(st.integers(1, 1000), max_size=60),
    st.booleans(),
)
def test_merge_equals_the_merge_by_id(
    held: list[AddressRow], read: list[AddressRow], deleted: set[int], edits_only: bool
) -> None:
    old = AddressColumns.from_rows(held)
    if edits_only:  # the read holds only rows already held, and nothing was deleted
        held_ids = {r.id for r in held}
        read = [r for r in read if r.id in held_ids]
        deleted = set()
    deleted -= {r.id for r in read}  # a row read again exists: never also deleted
    before = _as_rows(old)
    merged = merge_columns(old, AddressColumns.from_rows(read), frozenset(deleted))
    expected = {r.id: r for r in held if r.id not in deleted}
    expected.update({r.id: r for r in read})
    assert _as_rows(merged) == [expected[i] for i in sorted(expected)]
    assert _as_rows(old) == before, "the rows held were modified"
