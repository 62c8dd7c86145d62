"""The audit hash chain: any edit, deletion or reordering is found by `audit verify`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notifier_support import make_config

from notifier import audit
from notifier import tables as t
from notifier.audit import entry_hash
from notifier.cli import run_audit
from notifier.store import NotifierStore
from remote_backend.config import Config

N = 6
T0 = 1_700_000_000.0


def build_chain(path: Path, n: int = N) -> Config:
    """A state store with ``n`` entries, one per append (as passes write them)."""
    store = NotifierStore(f"sqlite:///{path / 'state.db'}")
    kinds = ["detected", "detected", "mail", "resolved", "mail", "mail_failed"]
    for i in range(n):
        with store.engine.begin() as conn:
            audit.append(
                conn, [(kinds[i % len(kinds)], {"row_id": i, "note": f"entry {i}"})], T0 + i
            )
    store.close()
    return make_config(path, "sqlite:////nonexistent/phpipam.db", 25)


def verify(config: Config, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run_audit(config, "verify", None, None)
    return code, capsys.readouterr().out


def sql(path: Path, *statements: str) -> None:
    with sqlite3.connect(path / "state.db") as db:
        for statement in statements:
            db.execute(statement)


def test_intact_chain_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = build_chain(tmp_path)
    code, out = verify(config, capsys)
    assert code == 0
    assert out.startswith(f"audit log ok: {N} entries, head #{N} sha256 ")


def test_empty_or_missing_log_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(tmp_path, "sqlite:////nonexistent/phpipam.db", 25)
    assert verify(config, capsys) == (0, f"audit log ok: 0 entries, head #0 sha256 {'0' * 64}\n")
    assert not (tmp_path / "state.db").exists()  # verifying creates nothing


TAMPERING: dict[str, tuple[list[str], int, str]] = {
    "edit data": (
        ["UPDATE notifier_audit SET data = replace(data, 'entry 3', 'entry 9') WHERE seq = 4"],
        4,
        "changed after it was written",
    ),
    "edit time": (
        ["UPDATE notifier_audit SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 2"],
        2,
        "changed after it was written",
    ),
    "edit kind": (["UPDATE notifier_audit SET kind = 'mail' WHERE seq = 1"], 1, "changed"),
    "non-canonical data": (
        ["UPDATE notifier_audit SET data = replace(data, ',', ', ') WHERE seq = 3"],
        3,
        "did not write",
    ),
    "delete first": (["DELETE FROM notifier_audit WHERE seq = 1"], 1, "#1 is missing"),
    "delete middle": (["DELETE FROM notifier_audit WHERE seq = 3"], 3, "#3 is missing"),
    "delete two": (["DELETE FROM notifier_audit WHERE seq IN (3, 4)"], 3, "#3 to #4 is missing"),
    "delete last": (["DELETE FROM notifier_audit WHERE seq = 6"], 6, "newest entries were deleted"),
    "delete head record": (["DELETE FROM notifier_audit_head"], 6, "head record is missing"),
    "renumber (reorder)": (
        [
            "UPDATE notifier_audit SET seq = 100 WHERE seq = 2",
            "UPDATE notifier_audit SET seq = 2 WHERE seq = 3",
            "UPDATE notifier_audit SET seq = 3 WHERE seq = 100",
        ],
        2,
        "does not chain",
    ),
    "swap contents (reorder)": (
        [
            "CREATE TEMP TABLE x AS SELECT * FROM notifier_audit WHERE seq IN (4, 5)",
            "UPDATE notifier_audit SET at = (SELECT at FROM x WHERE seq = 5), "
            "kind = (SELECT kind FROM x WHERE seq = 5), data = (SELECT data FROM x WHERE seq = 5), "
            "prev_hash = (SELECT prev_hash FROM x WHERE seq = 5), "
            "hash = (SELECT hash FROM x WHERE seq = 5) WHERE seq = 4",
            "UPDATE notifier_audit SET at = (SELECT at FROM x WHERE seq = 4), "
            "kind = (SELECT kind FROM x WHERE seq = 4), data = (SELECT data FROM x WHERE seq = 4), "
            "prev_hash = (SELECT prev_hash FROM x WHERE seq = 4), "
            "hash = (SELECT hash FROM x WHERE seq = 4) WHERE seq = 5",
        ],
        4,
        "does not chain",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_detected_and_the_first_bad_entry_named(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statements, first_bad, words = TAMPERING[name]
    config = build_chain(tmp_path)
    sql(tmp_path, *statements)
    code, out = verify(config, capsys)
    assert code == 1
    assert out.startswith(f"audit log TAMPERED: first bad entry #{first_bad}: "), out
    assert words in out


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone who knows the algorithm rewrites entry 3 consistently: entry 4 still
    points at the old hash."""
    config = build_chain(tmp_path)
    with sqlite3.connect(tmp_path / "state.db") as db:
        at, kind, prev = db.execute(
            "SELECT at, kind, prev_hash FROM notifier_audit WHERE seq = 3"
        ).fetchone()
        data = {"note": "nothing happened", "row_id": 2}
        forged = entry_hash(3, at, kind, data, prev)
        db.execute(
            "UPDATE notifier_audit SET data = ?, hash = ? WHERE seq = 3",
            ('{"note":"nothing happened","row_id":2}', forged),
        )
    code, out = verify(config, capsys)
    assert code == 1
    assert "first bad entry #4: entry #4 does not chain to entry #3" in out


def test_a_forged_entry_appended_at_the_end_is_detected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = build_chain(tmp_path)
    with sqlite3.connect(tmp_path / "state.db") as db:
        (prev,) = db.execute("SELECT hash FROM notifier_audit WHERE seq = 6").fetchone()
        at = "2030-01-01T00:00:00.000000Z"
        digest = entry_hash(7, at, "mail", {}, prev)
        db.execute(
            "INSERT INTO notifier_audit VALUES (7, ?, 'mail', '{}', ?, ?)", (at, prev, digest)
        )
    code, out = verify(config, capsys)
    assert code == 1
    assert "first bad entry #7: entries after #6 were added outside pphook" in out


def test_list_filters_by_kind_and_since(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = build_chain(tmp_path)
    capsys.readouterr()
    assert run_audit(config, "list", None, None) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0].split("\t")[1] == "2023-11-14T22:13:20.000000Z"
    assert lines[0].split("\t")[3] == '{"note":"entry 0","row_id":0}'

    assert run_audit(config, "list", "mail", None) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["3", "5"]

    assert run_audit(config, "list", None, "2023-11-14T22:13:23Z") == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == [
        "4",
        "5",
        "6",
    ]
    assert run_audit(config, "list", "detected", "2023-11-14T23:13:21+01:00") == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["2"]
    assert run_audit(config, "list", None, "2030-01-01") == 0
    assert capsys.readouterr().out == ""


def test_list_rejects_bad_filters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = build_chain(tmp_path)
    assert run_audit(config, "list", "nonsense", None) == 1
    assert "unknown audit kind 'nonsense'" in caplog.text
    assert run_audit(config, "list", None, "yesterday") == 1
    assert "--since 'yesterday' is not an ISO date" in caplog.text
    assert capsys.readouterr().out == ""


# -- property: every single tampering of any chain is caught ---------------------------


def _memory_chain(n: int) -> sa.Engine:
    engine = sa.create_engine("sqlite://")
    t.metadata.create_all(engine)
    for i in range(n):
        with engine.begin() as conn:
            audit.append(conn, [("detected", {"i": i})], T0 + i)
    return engine


def _edit(i: int) -> Callable[[sa.Connection], None]:
    def run(conn: sa.Connection) -> None:
        conn.execute(
            sa.text("UPDATE notifier_audit SET data = '{\"i\":-1}' WHERE seq = :s"), {"s": i}
        )

    return run


def _delete(i: int) -> Callable[[sa.Connection], None]:
    def run(conn: sa.Connection) -> None:
        conn.execute(sa.text("DELETE FROM notifier_audit WHERE seq = :s"), {"s": i})

    return run


def _swap(i: int, j: int) -> Callable[[sa.Connection], None]:
    def run(conn: sa.Connection) -> None:
        for a, b in ((i, -1), (j, i), (-1, j)):
            conn.execute(
                sa.text("UPDATE notifier_audit SET seq = :b WHERE seq = :a"), {"a": a, "b": b}
            )

    return run


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(min_value=1, max_value=12))
def test_property_any_single_tampering_is_detected(data: st.DataObject, n: int) -> None:
    engine = _memory_chain(n)
    with engine.connect() as conn:
        assert audit.verify(conn).ok
    op = data.draw(st.sampled_from(["edit", "delete", "swap"] if n > 1 else ["edit", "delete"]))
    i = data.draw(st.integers(min_value=1, max_value=n))
    if op == "swap":
        j = data.draw(st.integers(min_value=1, max_value=n).filter(lambda x: x != i))
        tamper, expected = _swap(i, j), min(i, j)
    else:
        tamper, expected = (_edit(i) if op == "edit" else _delete(i)), i
    with engine.begin() as conn:
        tamper(conn)
    with engine.connect() as conn:
        verdict = audit.verify(conn)
    assert not verdict.ok
    assert verdict.first_bad == expected, verdict
