"""The notifier on whole zones (SPEC §10.6): names below a delegation, hosts a static
CNAME hides and refused aliases are mailed under their own headings, each bad alias
of a row is a problem of its own (mailed once, resolved on its own), and the rules see
the static zone files `serve` publishes. phpIPAM in a real MariaDB, mails through a
real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData
from notifier_support import Received, SmtpServer

from notifier.cli import run_audit, run_report
from remote_backend.config import Config, parse_config

STATIC = """mail  TXT   "v=spf1 -all"
docs  CNAME app
sub   NS    ns.sub
ns.sub A    10.9.9.9
"""


@dataclass
class Site:
    app: int  # app.example.com, aliases "db, mail, portal": two refused, one published
    db: int
    below: int  # x.sub.example.com: DELEGATED
    hidden: int  # docs.example.com: STATIC_CONFLICT
    config: Config
    phpipam: PhpipamData


@pytest.fixture
def site(
    phpipam: PhpipamData, mariadb: MariaDBServer, smtp: SmtpServer, tmp_path: Path
) -> Iterator[Site]:
    phpipam.execute("ALTER TABLE ipaddresses ADD COLUMN custom_aliases varchar(255)")
    try:
        subnet = phpipam.add_subnet("10.1.2.0/24", phpipam.add_section("Servers"))
        app = phpipam.add_address(
            "10.1.2.3", subnet, hostname="app.example.com", custom_aliases="db, mail, portal"
        )
        db = phpipam.add_address("10.1.2.4", subnet, hostname="db.example.com")
        below = phpipam.add_address("10.1.2.5", subnet, hostname="x.sub.example.com")
        hidden = phpipam.add_address("10.1.2.6", subnet, hostname="docs.example.com")
        zones = tmp_path / "zones"
        zones.mkdir()
        (zones / "example.com.zone").write_text(STATIC)
        data = {
            "ipam": {"url": mariadb.url()},
            "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
            "zones": {
                "forward": ["example.com"],
                "reverse": ["10.0.0.0/8"],
                "nameservers": ["ns1.example.com"],
                "hostmaster": "hostmaster.example.com",
                "static_dir": str(zones),
            },
            "policy": {"alias_field": "custom_aliases"},
            "notifier": {
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_timeout": 5,
                "from": "pphook@example.com",
                "to": ["dns-admins@example.com"],
                "resolved_mails": True,
            },
        }
        config = parse_config(
            str(tmp_path / "pphook.toml"), data, require=("notifier",), environ={}
        )
        yield Site(app, db, below, hidden, config, phpipam)
    finally:
        phpipam.execute("ALTER TABLE ipaddresses DROP COLUMN custom_aliases")


def one_mail(smtp: SmtpServer) -> Received:
    mails = smtp.inbox.take()
    assert len(mails) == 1, [m.subject for m in mails]
    return mails[0]


def section(text: str, title: str) -> str:
    start = text.index(f"== {title} (")
    end = text.find("\n== ", start + 1)
    return text[start : end if end != -1 else None]


def test_whole_zone_problems_are_mailed_under_their_titles_once_each(
    site: Site, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_report(site.config, False) == 0
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 4 new DNS problems"
    text = mail.text

    below = section(text, "Hostnames below a delegation (another server's zone)")
    assert f"Name below a delegation, row {site.below}\n" in below
    assert "at or below the delegation 'sub.example.com'" in below
    hidden = section(text, "Hosts whose name a static CNAME holds")
    assert f"Host hidden by a static CNAME, row {site.hidden}\n" in hidden
    aliases = section(text, "Aliases that cannot be published")
    assert aliases.startswith("== Aliases that cannot be published (2) ==")
    assert aliases.count(f"Alias conflict, row {site.app}\n") == 2  # one per bad alias
    assert "alias 'db.example.com' is the name of a published host" in aliases
    assert "alias 'mail.example.com' holds static records" in aliases
    assert (
        "DNS: the alias db.example.com is not published (no CNAME to app.example.com); "
        f"row {site.app}'s own records are published as they are" in aliases
    )
    assert "portal" not in text  # published: not a problem
    for title in ("Hostnames below a delegation", "Aliases that cannot be published"):
        assert title in mail.html

    assert run_report(site.config, False) == 0  # nothing new: nothing mailed
    assert smtp.inbox.take() == []

    # one alias fixed: that problem alone is resolved, the other one stays reported
    site.phpipam.update_address(site.app, custom_aliases="mail, portal")
    assert run_report(site.config, False) == 0
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 1 DNS problem resolved"
    resolved = mail.text.split("== Resolved since the last report (1) ==", 1)[1]
    assert "alias 'db.example.com'" in resolved and "mail.example.com" not in resolved
    capsys.readouterr()
    assert run_audit(site.config, "list", "resolved", None) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_the_rules_follow_the_static_files(site: Site, smtp: SmtpServer) -> None:
    zone_file = Path(site.config.zones.static_dir or "") / "example.com.zone"
    zone_file.write_text('mail TXT "v=spf1 -all"\n')  # no delegation, no CNAME any more
    assert run_report(site.config, False) == 0
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 2 new DNS problems"  # the two aliases only
    assert "Hostnames below a delegation" not in mail.text
    assert "Hosts whose name a static CNAME holds" not in mail.text
