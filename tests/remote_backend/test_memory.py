"""``memory.renewed``: what a full build keeps is made again from new objects once the
draft is freed (so it stops holding the draft's memory), without changing a value."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from remote_backend.memory import renewed
from validators.address import forget_ipv4_prefixes, ipv4_text
from validators.codes import Code

codes = st.lists(st.sampled_from(list(Code)), min_size=1, max_size=3, unique=True).map(tuple)


@given(st.dictionaries(st.integers(0, 2**40), codes))
def test_problem_codes_keep_their_values_and_share_equal_tuples(
    problems: dict[int, tuple[Code, ...]],
) -> None:
    copy = renewed(problems)
    assert copy == problems and type(copy) is dict
    assert len({id(v) for v in copy.values()}) == len(set(problems.values()))
    assert all(copy[k] is not v for k, v in problems.items())  # new tuples


# names of two characters up: CPython keeps one object per single character
@given(st.dictionaries(st.text(min_size=2), st.integers(257, 2**31)))
def test_names_and_counts_are_new_objects_of_equal_value(below: dict[str, int]) -> None:
    copy = renewed(below)
    assert copy == below
    kept_keys = {id(k) for k in below}
    assert not any(id(k) in kept_keys for k in copy)
    assert all(copy[k] is not v for k, v in below.items())


@given(st.dictionaries(st.sampled_from(list(Code)), st.integers(0, 10**6)))
def test_a_counter_stays_a_counter(counts: dict[Code, int]) -> None:
    copy = renewed(Counter(counts))
    assert type(copy) is Counter and copy == Counter(counts)
    assert all(type(code) is Code for code in copy)  # equal as str is not enough
    assert copy[Code.HOSTNAME_INVALID] == counts.get(Code.HOSTNAME_INVALID, 0)


@given(st.integers(0, 2**32 - 1))
def test_ipv4_text_is_unchanged_by_forgetting_its_cache(value: int) -> None:
    before = ipv4_text(value)
    forget_ipv4_prefixes()
    assert ipv4_text(value) == before == ".".join(str(value >> s & 255) for s in (24, 16, 8, 0))
