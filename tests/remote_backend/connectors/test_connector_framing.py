"""The two line loops (`serve_stream` for pipes, `serve_socket` for the unix socket)
frame requests identically, however the bytes are split into reads."""

from __future__ import annotations

import io
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from remote_backend.connectors.framing import serve_socket, serve_stream


class Echo:
    """Answers each request with its length, so replies show how lines were cut."""

    def handle_line(self, line: bytes) -> bytes:
        return b"%d:%s\n" % (len(line), line[:8])


lines = st.lists(
    st.one_of(
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
        st.integers(min_value=20, max_value=200).map(lambda n: b"y" * n),  # oversized
    ),
    max_size=12,
)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


@settings(max_examples=300, deadline=None)
@given(lines=lines, last_newline=st.booleans(), cuts=st.lists(st.integers(0, 10_000)))
def test_socket_loop_frames_like_the_stream_loop(
    lines: list[bytes], last_newline: bool, cuts: list[int]
) -> None:
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    max_line = 16

    expected: list[bytes] = []
    serve_stream(Echo(), io.BytesIO(data), expected.append, max_line)

    pieces = iter(_chunks(data, cuts))
    got: list[bytes] = []
    serve_socket(Echo(), lambda size: next(pieces, b""), got.append, max_line)
    assert got == expected
