"""pdns-config/ ships monitoring: Prometheus alert rules and a Grafana dashboard.

promtool (Debian package prometheus) checks the rules and runs their unit tests
(``pphook-alerts.test.yml``: series in, alerts out, "does not fire" cases included).
Every metric and label the rules and the dashboard use must be exported by a real
`pphook serve`, so renaming a metric breaks this test instead of silently breaking an
operator's alerts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData
from infra.ports import free_port
from infra.pphook import PphookServe, ask_socket, default_sections
from infra.procs import require_binary
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "pdns-config" / "pphook-alerts.yml"
RULES_TESTS = Path(__file__).resolve().parent / "pphook-alerts.test.yml"
DASHBOARD = ROOT / "pdns-config" / "pphook-dashboard.json"

# Labels Prometheus adds to every scraped series (pphook does not export them).
TARGET_LABELS = {"instance", "job"}
# Alerts about an event rather than a state: no `for:` (the jump is the news).
EVENT_ALERTS = {"PphookRejectionsJump"}

_METRIC = re.compile(r"\bpphook_[a-z0-9_]+\b")
_SELECTOR = re.compile(r"\b(pphook_[a-z0-9_]+)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def promtool() -> str:
    return require_binary("promtool", "prometheus")


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def alert_blocks(text: str) -> dict[str, str]:
    """Alert name -> the text of its rule (up to the next rule)."""
    parts = re.split(r"^\s*- alert:\s*", text, flags=re.M)[1:]
    return {part.split()[0]: part for part in parts}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows hold their panels
    return panels


def dashboard_exprs() -> list[str]:
    """Every query of the dashboard: panels' targets and the variables'."""
    exprs = [t["expr"] for p in dashboard_panels() for t in p.get("targets", [])]
    for var in dashboard()["templating"]["list"]:
        query = var.get("query")
        if isinstance(query, dict):
            exprs.append(query["query"])
    return exprs


def dashboard_texts() -> list[str]:
    """The queries plus the legends, which name labels too."""
    legends = [t.get("legendFormat", "") for p in dashboard_panels() for t in p.get("targets", [])]
    return dashboard_exprs() + legends


def rules_texts() -> list[str]:
    """The rules file's text: expressions and annotation templates alike."""
    return [RULES.read_text()]


def as_promql(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced, as Prometheus would get it."""
    return expr.replace("$__rate_interval", "5m").replace("$instance", ".*")


# -- the rules ---------------------------------------------------------------------------


def test_promtool_accepts_the_rules() -> None:
    result = run(promtool(), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = alert_blocks(RULES.read_text())
    assert f"SUCCESS: {len(alerts)} rules found" in result.stdout
    assert len(alerts) >= 10


def test_every_alert_has_severity_for_and_what_to_do() -> None:
    for name, block in alert_blocks(RULES.read_text()).items():
        assert re.search(r"^\s+severity: (critical|warning)$", block, re.M), name
        assert re.search(r"^\s+summary: ", block, re.M), name
        assert re.search(r"^\s+description: ", block, re.M), name
        has_for = re.search(r"^\s+for: \d+m$", block, re.M) is not None
        assert has_for is (name not in EVENT_ALERTS), name


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = run(promtool(), "test", "rules", str(RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # every alert is tested, firing at least once
    tests = RULES_TESTS.read_text()
    tested = set(re.findall(r"alertname: (\w+)", tests))
    assert tested == set(alert_blocks(RULES.read_text()))
    firing = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels", tests))
    assert firing == tested


@pytest.mark.parametrize(
    ("change", "breaks"),
    [
        (
            ("pphook_secondary_behind_seconds > 900", "pphook_secondary_behind_seconds > 9000"),
            "PphookSecondaryBehind",
        ),
        (
            (
                'rate(pphook_request_seconds_bucket{method="lookup"}[5m])',
                "rate(pphook_request_seconds_bucket[5m])",
            ),
            "PphookLookupLatencyHigh",
        ),
        (
            (
                'expr: pphook_health{state="degraded"} == 1\n        for: 10m',
                'expr: pphook_health{state="degraded"} == 1\n        for: 1m',
            ),
            "PphookDegraded",
        ),
        (("severity: critical", "severity: page"), "PphookDown"),
    ],
)
def test_the_unit_tests_catch_a_changed_rule(
    tmp_path: Path, change: tuple[str, str], breaks: str
) -> None:
    old, new = change
    text = RULES.read_text()
    assert old in text
    (tmp_path / "rules.yml").write_text(text.replace(old, new, 1))
    tests = RULES_TESTS.read_text().replace("../../pdns-config/pphook-alerts.yml", "rules.yml")
    (tmp_path / "rules.test.yml").write_text(tests)
    result = run(promtool(), "test", "rules", "rules.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert f"alertname: {breaks}," in result.stdout + result.stderr


# -- the dashboard -----------------------------------------------------------------------


def test_dashboard_is_a_grafana_dashboard() -> None:
    dash = dashboard()
    assert isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 36
    assert dash["uid"] == "pphook" and dash["title"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids: set[int] = set()
    cells: set[tuple[int, int]] = set()
    for panel in dashboard_panels():
        assert panel["id"] not in ids, panel["title"]
        ids.add(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        # no two panels overlap on the grid
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps at {(x, y)}"
                cells.add((x, y))
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat", "table", "gauge", "state-timeline"}
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"], panel["title"]
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool parses PromQL when it checks recording rules: one rule per query
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": as_promql(expr)}
                    for i, expr in enumerate(dashboard_exprs())
                    if not expr.startswith("label_values(")
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    result = run(promtool(), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_covers_what_an_operator_watches() -> None:
    used = {m for expr in dashboard_exprs() for m in _METRIC.findall(expr)}
    for metric in (
        "pphook_requests_total",  # QPS by method
        "pphook_request_seconds_bucket",  # latency
        "pphook_snapshot_age_seconds",
        "pphook_snapshot_records",
        "pphook_rejections",  # by code
        "pphook_db_errors_total",
        "pphook_circuit_state",
        "pphook_secondary_behind_seconds",
        "pphook_health",
    ):
        assert metric in used, metric


# -- rules and dashboard against a real `pphook serve` -------------------------------------


def scrape(port: int) -> dict[str, list[dict[str, str]]]:
    """Sample name -> the label sets of its samples, from /metrics."""
    samples: dict[str, list[dict[str, str]]] = {}
    for name, labels, _ in scrape_values(port):
        samples.setdefault(name, []).append(labels)
    return samples


def scrape_values(port: int) -> list[tuple[str, dict[str, str], float]]:
    """(sample name, labels, value) of every sample /metrics gives."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


@pytest.fixture
def exported(mariadb: MariaDBServer, phpipam: PhpipamData) -> Iterator[dict[str, Any]]:
    """What a `pphook serve` with metrics and a watched secondary exports, once it has
    answered lookups and found a rejected row."""
    subnet = phpipam.add_subnet("10.40.0.0/24", phpipam.add_section("Monitoring"))
    phpipam.add_address("10.40.0.1", subnet, hostname="mon1.example.com")
    phpipam.add_address("10.40.0.2", subnet, hostname="bad_name.example.com")
    phpipam.add_address("10.40.0.3", subnet, hostname="x.sub.example.com")  # DELEGATED
    base = Path(tempfile.mkdtemp(prefix="pphook-monitoring-"))
    (base / "zones").mkdir()
    (base / "zones" / "example.com.zone").write_text("sub NS ns.sub\nns.sub A 10.40.0.53\n")
    (base / "zones" / "stray.example.org.zone").write_text("a A 10.40.0.9\n")  # an error
    metrics_port = free_port()
    secondary = f"127.0.0.1:{free_port()}"  # nobody answers there: "no answer", behind
    serve = PphookServe(
        default_sections(
            mariadb.url(),
            f"sqlite:///{base}/state.db",
            base / "pphook.sock",
            zones={"secondaries": [secondary], "static_dir": str(base / "zones")},
            server={"metrics": f"127.0.0.1:{metrics_port}"},
        )
    ).start()
    try:
        for name in ("mon1.example.com.", "nothing.example.com."):
            ask_socket(serve.socket, "lookup", {"qtype": "ANY", "qname": name, "zone-id": -1})
        deadline = time.monotonic() + 30
        while True:
            try:
                samples = scrape(metrics_port)
            except OSError:
                samples = {}
            if "pphook_secondary_behind_seconds" in samples:
                break
            assert time.monotonic() < deadline, f"no secondary metrics:\n{serve.log_tail()}"
            time.sleep(0.2)
        values = {
            (name, tuple(sorted(labels.items()))): value
            for name, labels, value in scrape_values(metrics_port)
        }
        yield {"samples": samples, "values": values}
    finally:
        serve.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.integration
def test_rules_and_dashboard_use_only_what_pphook_exports(exported: dict[str, Any]) -> None:
    samples: dict[str, list[dict[str, str]]] = exported["samples"]
    label_names = {name for sets in samples.values() for labels in sets for name in labels}
    known_labels = label_names | TARGET_LABELS
    assert {"method", "le", "code", "state", "secondary", "zone"} <= label_names
    for source, texts in (("rules", rules_texts()), ("dashboard", dashboard_texts())):
        used = {m for text in texts for m in _METRIC.findall(text)}
        assert len(used) >= 8, source
        assert used <= set(samples), f"{source} uses metrics pphook does not export: " + str(
            sorted(used - set(samples))
        )
        for text in texts:
            for metric, matchers in _SELECTOR.findall(text):
                on_metric = {n for labels in samples[metric] for n in labels} | TARGET_LABELS
                for label, op, value in _MATCHER.findall(matchers):
                    assert label in on_metric, f"{source}: {metric} has no label {label!r}"
                    if op == "=" and label not in TARGET_LABELS and "$" not in value:
                        values = {labels.get(label) for labels in samples[metric]}
                        assert value in values, f"{source}: {metric}{{{label}={value!r}}}"
            for group in _GROUPING.findall(text):
                for label in filter(None, (g.strip() for g in group.split(","))):
                    assert label in known_labels, f"{source}: unknown label {label!r}"
            for label in re.findall(r"\$labels\.(\w+)|\{\{\s*(\w+)\s*\}\}", text):
                name = next(filter(None, label))
                assert name in known_labels, f"{source}: unknown label {name!r}"
    # and the series the rules look at by value are there with those values
    assert {"state": "degraded"} in samples["pphook_health"]
    assert {"state": "closed"} in samples["pphook_circuit_state"]
    assert {"method": "lookup"} in samples["pphook_requests_total"]
    assert {"code": "HOSTNAME_INVALID"} in samples["pphook_rejections"]


@pytest.mark.integration
def test_problems_by_code_include_every_code_and_static_file_errors(
    exported: dict[str, Any],
) -> None:
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = exported["values"]

    def rejections(code: str) -> float:
        return values[("pphook_rejections", (("code", code),))]

    assert rejections("HOSTNAME_INVALID") == 1
    assert rejections("DELEGATED") == 1  # the static delegation hides x.sub.example.com
    # the codes nothing has yet are there at 0, so panels and alerts see them from start
    for code in ("ALIAS_CONFLICT", "STATIC_CONFLICT", "DUPLICATE_MAC", "ZONE_NOT_FOUND"):
        assert rejections(code) == 0, code
    assert not any(labels == (("code", "SECONDARY_BEHIND"),) for _, labels in values)
    assert values[("pphook_static_file_errors", ())] == 1  # the stray file
