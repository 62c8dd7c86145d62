"""Finding deleted rows (and rows inserted below the highest id) without reading every
id: ``differing_buckets`` compares a count and sum of ids per bucket of the table with
the ids held, and every id that differs must lie in a bucket it returns."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.ipam.changes import bucket_shift, differing_buckets


def _table_buckets(ids: set[int], shift: int) -> dict[int, tuple[int, int]]:
    """What ``SELECT id >> shift, COUNT(*), SUM(id) ... GROUP BY 1`` gives."""
    buckets: dict[int, tuple[int, int]] = {}
    for i in ids:
        n, total = buckets.get(i >> shift, (0, 0))
        buckets[i >> shift] = (n + 1, total + i)
    return buckets


@settings(max_examples=300)
@given(
    st.sets(st.integers(1, 200_000), max_size=300),
    st.sets(st.integers(1, 200_000), max_size=20),
    st.sets(st.integers(1, 200_000), max_size=20),
)
def test_every_deleted_or_hidden_id_is_in_a_differing_bucket(
    held: set[int], deleted: set[int], inserted: set[int]
) -> None:
    deleted &= held
    inserted -= held
    table = (held - deleted) | inserted
    new = set(sorted(inserted)[: len(inserted) // 2])  # reported as new by the scan
    shift = bucket_shift(max(table | held, default=0))
    buckets = differing_buckets(sorted(held), sorted(new), _table_buckets(table, shift), shift)
    for row_id in deleted | (inserted - new):
        assert row_id >> shift in buckets
    untouched = {i >> shift for i in held | table} - {i >> shift for i in deleted | inserted}
    assert not untouched & set(buckets), "a bucket with the same ids was read again"


def test_about_sixty_four_buckets_at_any_size() -> None:
    for max_id in (1, 5_000, 1_000_000, 2**32 - 1):
        shift = bucket_shift(max_id)
        assert shift >= 10
        assert (max_id >> shift) + 1 <= 64
