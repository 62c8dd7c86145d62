"""End to end: phpIPAM in a real MariaDB -> `report` -> mails in a real SMTP server."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData
from notifier_support import Received, SmtpServer, make_config

from notifier.cli import run_audit, run_report
from remote_backend.config import Config

TO = ["dns-admins@example.com"]
# phpIPAM's links: settings.prettyLinks = "No" (its default), and "Yes"
LINK = (
    "https://ipam.example.com/index.php?page=subnets&section={section}&subnetId={subnet}"
    "&sPage=address-details&ipaddrid={row}"
)
PRETTY_LINK = "https://ipam.example.com/subnets/{section}/{subnet}/address-details/{row}/"


@dataclass
class Seed:
    section: int
    subnet: int
    other_section: int
    other_subnet: int
    ok: int  # 10.1.2.3 server1.example.com, published
    dup_host: int  # 10.1.2.4 server1.example.com -> DUPLICATE_HOSTNAME
    bad_name: int  # bad_name.example.com -> HOSTNAME_INVALID
    outside: int  # host.elsewhere.org -> ZONE_NOT_FOUND
    bad_ip: int  # ip_addr 'abc' -> IP_INVALID
    dup_ip: int  # 10.1.2.3 other.example.com in another subnet -> DUPLICATE_IP
    mac_a: int
    mac_b: int  # same MAC as mac_a, other host -> DUPLICATE_MAC
    bad_mac: int  # MAC 'zz:zz' -> MAC_INVALID

    def link(self, row: int, *, other: bool = False, pretty: bool = False) -> str:
        form = PRETTY_LINK if pretty else LINK
        if other:
            return form.format(section=self.other_section, subnet=self.other_subnet, row=row)
        return form.format(section=self.section, subnet=self.subnet, row=row)


def seed(db: PhpipamData) -> Seed:
    section = db.add_section("Servers")
    subnet = db.add_subnet("10.1.2.0/24", section, description="server LAN")
    other_section = db.add_section("Lab")
    other_subnet = db.add_subnet("10.1.0.0/16", other_section, description="lab")
    return Seed(
        section=section,
        subnet=subnet,
        other_section=other_section,
        other_subnet=other_subnet,
        ok=db.add_address("10.1.2.3", subnet, hostname="server1.example.com"),
        dup_host=db.add_address("10.1.2.4", subnet, hostname="Server1.example.com."),
        bad_name=db.add_address("10.1.2.5", subnet, hostname="bad_name.example.com"),
        outside=db.add_address("10.1.2.6", subnet, hostname="host.elsewhere.org"),
        bad_ip=db.add_address("1", subnet, hostname="badip.example.com", ip_addr="abc"),
        dup_ip=db.add_address("10.1.2.3", other_subnet, hostname="other.example.com"),
        mac_a=db.add_address(
            "10.1.2.7", subnet, hostname="mac-a.example.com", mac="02:00:00:00:00:01"
        ),
        mac_b=db.add_address(
            "10.1.2.8", subnet, hostname="mac-b.example.com", mac="02-00-00-00-00-01"
        ),
        bad_mac=db.add_address("10.1.2.9", subnet, hostname="badmac.example.com", mac="zz:zz"),
    )


def report(config: Config, dry_run: bool = False) -> int:
    return run_report(config, dry_run)


def one_mail(smtp: SmtpServer) -> Received:
    mails = smtp.inbox.take()
    assert len(mails) == 1, [m.subject for m in mails]
    return mails[0]


def audit_kinds(
    config: Config, capsys: pytest.CaptureFixture[str], kind: str | None = None
) -> list[str]:
    capsys.readouterr()
    assert run_audit(config, "list", kind, None) == 0
    return [line.split("\t")[2] for line in capsys.readouterr().out.splitlines()]


def section_of(text: str, title: str) -> str:
    """The text between a '== title' heading and the next one."""
    match = re.search(rf"== {re.escape(title)} \(\d+\) ==\n(.*?)(?=\n== |\n-- \n)", text, re.S)
    assert match, f"no section {title!r} in:\n{text}"
    return match.group(1)


@pytest.fixture
def cfg(tmp_path: Path, mariadb: MariaDBServer, smtp: SmtpServer) -> Any:
    def make(**notifier: Any) -> Config:
        return make_config(tmp_path, mariadb.url(), smtp.port, **notifier)

    return make


# -- first pass, second pass, changes ---------------------------------------------------


def test_first_pass_mails_every_problem_once_with_rows_links_and_dns_effect(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    s = seed(phpipam)
    assert report(cfg()) == 0
    mail = one_mail(smtp)

    assert mail.rcpt_tos == TO
    assert mail.mail_from == "pphook@example.com"
    assert mail.subject == "[pphook] phpIPAM: 7 new DNS problems"
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    text, html = mail.text, mail.html

    expected = {
        "Invalid hostnames": s.bad_name,
        "Hostnames outside the served zones": s.outside,
        "Unreadable IP addresses": s.bad_ip,
        "Duplicate hostnames": s.dup_host,
        "IP addresses with several hostnames (PTR conflicts)": s.dup_ip,
        "MAC addresses shared by different hosts": s.mac_b,
        "Invalid MAC addresses": s.bad_mac,
    }
    for title, row in expected.items():
        body = section_of(text, title)
        assert f"row {row}\n" in body, body
        assert title in html
    # the published row is not a problem of its own
    assert f"row {s.ok}\n" not in text

    dup = section_of(text, "Duplicate hostnames")
    assert (
        f"DNS: 10.1.2.3 keeps server1.example.com (row {s.ok}); row {s.dup_host} (10.1.2.4) "
        "with the same name is not published" in dup
    )
    assert "Subnet:      10.1.2.0/24 (server LAN)" in dup
    assert "Section:     Servers" in dup
    assert "State:       Used" in dup
    assert s.link(s.dup_host) in dup and s.link(s.ok) in dup  # both rows, both linked

    conflict = section_of(text, "IP addresses with several hostnames (PTR conflicts)")
    assert f"the PTR of 10.1.2.3 names server1.example.com (row {s.ok})" in conflict
    assert s.link(s.dup_ip, other=True) in conflict
    assert "Section:     Lab" in conflict

    mac = section_of(text, "MAC addresses shared by different hosts")
    assert "no effect on DNS" in mac and "02-00-00-00-00-01" in mac

    for row in expected.values():
        assert f'href="{escape(s.link(row, other=row == s.dup_ip))}"' in html


@pytest.mark.parametrize("pretty", [True, False])
def test_links_take_the_form_phpipam_uses(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any, pretty: bool
) -> None:
    """Issue 13.5b: settings.prettyLinks decides the URL form of phpIPAM's pages."""
    s = seed(phpipam)
    phpipam.execute("UPDATE settings SET prettyLinks = %s", ("Yes" if pretty else "No",))
    assert report(cfg()) == 0
    mail = one_mail(smtp)
    link, other = s.link(s.bad_name, pretty=pretty), s.link(s.ok, pretty=not pretty)
    assert link in mail.text and other not in mail.text
    assert f'href="{escape(link)}"' in mail.html
    if not pretty:
        assert "&amp;sPage=address-details&amp;ipaddrid=" in mail.html  # escaped in HTML


def test_rows_outside_policy_sections_are_not_mailed(
    phpipam: PhpipamData, smtp: SmtpServer, tmp_path: Path, mariadb: MariaDBServer
) -> None:
    """Issue 13.5c: with policy.sections = ["RealTest"], the other sections' rows are
    not pphook's business: none of their problems is mailed (MACs included)."""
    real = phpipam.add_section("RealTest")
    real_net = phpipam.add_subnet("10.9.0.0/24", real)
    mine = phpipam.add_address(
        "10.9.0.1", real_net, hostname="host.elsewhere.org", mac="02:00:00:00:00:09"
    )
    s = seed(phpipam)  # sections Servers and Lab: seven problems, none of them in scope
    shared = phpipam.add_address(
        "10.1.2.30", s.subnet, hostname="twin.example.com", mac="02-00-00-00-00-09"
    )
    config = make_config(tmp_path, mariadb.url(), smtp.port, policy={"sections": ["RealTest"]})
    assert report(config) == 0
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 1 new DNS problem"
    assert f"row {mine}\n" in section_of(mail.text, "Hostnames outside the served zones")
    for row in (s.bad_name, s.outside, s.bad_ip, s.dup_host, s.dup_ip, s.mac_b, s.bad_mac, shared):
        assert f"row {row}\n" not in mail.text


def test_second_pass_mails_nothing_and_a_restart_does_not_either(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    seed(phpipam)
    assert report(cfg()) == 0
    assert len(smtp.inbox.take()) == 1
    assert report(cfg()) == 0  # a new process: state comes from the store only
    assert report(cfg()) == 0
    assert smtp.inbox.take() == []


def test_fix_and_new_problem_mail_only_the_new_one_and_record_the_fix(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s = seed(phpipam)
    config = cfg()
    assert report(config) == 0
    smtp.inbox.take()

    phpipam.update_address(s.bad_name, hostname="good-name.example.com")
    new = phpipam.add_address("10.1.2.20", s.subnet, hostname="new host.example.com")
    assert report(config) == 0
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 1 new DNS problem"
    assert f"Invalid hostname, row {new}" in mail.text
    assert f"row {s.bad_name}" not in mail.text and f"row {s.dup_host}" not in mail.text

    capsys.readouterr()
    assert run_audit(config, "list", "resolved", None) == 0
    resolved = capsys.readouterr().out.splitlines()
    assert len(resolved) == 1 and f'"row_id":{s.bad_name}' in resolved[0]


def test_an_edit_that_changes_the_problem_reports_it_again(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    s = seed(phpipam)
    config = cfg()
    report(config)
    smtp.inbox.take()
    phpipam.update_address(s.bad_name, description="touched")  # not part of the problem
    report(config)
    assert smtp.inbox.take() == []
    phpipam.update_address(s.bad_name, hostname="still_bad.example.com")  # another problem
    report(config)
    mail = one_mail(smtp)
    assert "still_bad.example.com" in mail.text and mail.subject.endswith("1 new DNS problem")


def test_resolved_mails_list_fixed_problems(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    s = seed(phpipam)
    config = cfg(resolved_mails=True)
    report(config)
    smtp.inbox.take()
    phpipam.delete_address(s.bad_ip)
    phpipam.update_address(s.mac_b, mac="02:00:00:00:00:02")
    report(config)
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 2 DNS problems resolved"
    resolved = mail.text.split("== Resolved since the last report (2) ==", 1)[1]
    assert f"Unreadable IP address, row {s.bad_ip}" in resolved
    assert f"Shared MAC address, row {s.mac_b}" in resolved
    report(config)
    assert smtp.inbox.take() == []  # resolved once, not every pass


# -- safety -----------------------------------------------------------------------------


def test_hostile_hostname_creates_no_header_and_no_recipient(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    section = phpipam.add_section("S")
    subnet = phpipam.add_subnet("10.9.0.0/24", section)
    phpipam.add_address("10.9.0.1", subnet, hostname="evil\r\nBcc: x@y.example\r\nSubject: pwned")
    phpipam.add_address("10.9.0.2", subnet, hostname="ok.example.com", mac="aa\r\nCc: c@d.example")
    assert report(cfg()) == 0
    mail = one_mail(smtp)
    assert mail.rcpt_tos == TO
    assert mail.message["Bcc"] is None and mail.message["Cc"] is None
    assert mail.message.get_all("Subject") == ["[pphook] phpIPAM: 2 new DNS problems"]
    assert mail.message.get_all("To") == ["dns-admins@example.com"]
    assert b"\r\nBcc:" not in mail.raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    # the text is shown, escaped, in the body
    assert "evil<U+000D><U+000A>Bcc: x@y.example" in mail.text


def test_html_part_escapes_markup_from_ipam(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    section = phpipam.add_section("S<b>")
    subnet = phpipam.add_subnet("10.9.0.0/24", section)
    phpipam.add_address("10.9.0.1", subnet, hostname="<script>alert(1)</script>.example.com")
    assert report(cfg()) == 0
    mail = one_mail(smtp)
    assert "<script>" not in mail.html and "<b>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example.com" in mail.html
    assert "S&lt;b&gt;" in mail.html
    assert "<script>alert(1)</script>.example.com" in mail.text  # plain text is not HTML


# -- SMTP failures and the rate limit ----------------------------------------------------


def test_smtp_down_marks_nothing_and_the_next_pass_sends(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(phpipam)
    config = cfg()
    smtp.stop()
    assert report(config) == 1
    assert report(config) == 1
    smtp.start()
    assert report(config) == 0
    mail = one_mail(smtp)
    assert mail.subject == "[pphook] phpIPAM: 7 new DNS problems"
    assert audit_kinds(config, capsys, "mail_failed") == ["mail_failed", "mail_failed"]
    assert audit_kinds(config, capsys, "mail") == ["mail"]
    assert audit_kinds(config, capsys, "detected").count("detected") == 7  # detected once


def test_smtp_refusing_the_message_marks_nothing(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    seed(phpipam)
    config = cfg()
    smtp.inbox.refuse = True
    assert report(config) == 1
    smtp.inbox.refuse = False
    assert report(config) == 0
    assert "7 new DNS problems" in one_mail(smtp).subject


def test_wrong_port_fails_with_a_clear_error(
    phpipam: PhpipamData, tmp_path: Path, mariadb: MariaDBServer, caplog: pytest.LogCaptureFixture
) -> None:
    seed(phpipam)
    from infra.ports import free_port

    config = make_config(tmp_path, mariadb.url(), free_port())
    assert report(config) == 1
    assert "check notifier.smtp_host, notifier.smtp_port" in caplog.text


def test_rate_limit_holds_and_nothing_is_lost(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any, tmp_path: Path
) -> None:
    s = seed(phpipam)
    config = cfg(per_problem_mails=True, max_mails_per_hour=3)
    assert report(config) == 0
    first = smtp.inbox.take()
    assert len(first) == 3
    assert report(config) == 0
    assert smtp.inbox.take() == []  # limit reached: the other 4 wait

    with sqlite3.connect(tmp_path / "state.db") as db:  # an hour goes by
        db.execute("UPDATE notifier_mail_log SET sent_at = sent_at - 3601")
    assert report(config) == 0
    second = smtp.inbox.take()
    assert len(second) == 3
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("UPDATE notifier_mail_log SET sent_at = sent_at - 3601")
    assert report(config) == 0
    third = smtp.inbox.take()
    assert len(third) == 1
    assert report(config) == 0
    assert smtp.inbox.take() == []

    rows = sorted(int(re.findall(r"\(row (\d+)\)", m.subject)[0]) for m in first + second + third)
    assert rows == sorted(
        [s.bad_name, s.outside, s.bad_ip, s.dup_host, s.dup_ip, s.mac_b, s.bad_mac]
    )


def test_per_problem_mails_one_mail_each(phpipam: PhpipamData, smtp: SmtpServer, cfg: Any) -> None:
    s = seed(phpipam)
    assert report(cfg(per_problem_mails=True, max_mails_per_hour=0)) == 0
    mails = smtp.inbox.take()
    assert len(mails) == 7
    subjects = {m.subject for m in mails}
    assert f"[pphook] phpIPAM: Duplicate hostname (row {s.dup_host})" in subjects
    dup = next(m for m in mails if f"(row {s.dup_host})" in m.subject)
    assert "keeps server1.example.com" in dup.text and dup.html


# -- recipients, changelog, templates ----------------------------------------------------


def test_phpipam_admins_with_mail_notify_are_added(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    seed(phpipam)
    phpipam.add_user("ann", email="ann@example.com", role="Administrator", mail_notify=True)
    phpipam.add_user("bob", email="bob@example.com", role="Administrator", mail_notify=False)
    phpipam.add_user("carl", email="carl@example.com", role="User", mail_notify=True)
    phpipam.add_user(
        "dave", email="dave@example.com", role="Administrator", mail_notify=True, disabled="Yes"
    )
    phpipam.add_user(
        "eve", email="eve@example.com>\r\nBcc: x@y", role="Administrator", mail_notify=True
    )
    phpipam.add_user("dup", email="DNS-Admins@example.com", role="Administrator", mail_notify=True)
    assert report(cfg(phpipam_admins=True)) == 0
    mail = one_mail(smtp)
    assert mail.rcpt_tos == ["dns-admins@example.com", "ann@example.com"]
    assert mail.message["To"] == "dns-admins@example.com, ann@example.com"


def test_last_changed_by_comes_from_the_changelog(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any
) -> None:
    s = seed(phpipam)
    alice = phpipam.add_user("alice", real_name="Alice Martin", email="alice@example.com")
    phpipam.add_changelog(s.bad_name, alice, "add")
    phpipam.add_changelog(s.bad_name, alice, "edit")
    assert report(cfg()) == 0
    mail = one_mail(smtp)
    block = section_of(mail.text, "Invalid hostnames")
    assert "Last change: edit by Alice Martin <alice@example.com>" in block
    assert "edit by Alice Martin &lt;alice@example.com&gt;" in mail.html
    assert "Alice Martin" not in section_of(mail.text, "Hostnames outside the served zones")


def test_templates_dir_overrides_one_template(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any, tmp_path: Path
) -> None:
    s = seed(phpipam)
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "digest.txt.j2").write_text(
        "CUSTOM {{ new_count }}\n{% for p in problems %}{{ p.code }} {{ p.row.id }}\n{% endfor %}"
    )
    assert report(cfg(templates_dir=str(custom))) == 0
    mail = one_mail(smtp)
    assert mail.text.startswith("CUSTOM 7\n")
    assert f"HOSTNAME_INVALID {s.bad_name}\n" in mail.text
    assert "Duplicate hostnames" in mail.html  # the shipped HTML template is still used


def test_a_broken_custom_template_fails_and_marks_nothing(
    phpipam: PhpipamData,
    smtp: SmtpServer,
    cfg: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed(phpipam)
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "digest.html.j2").write_text("{{ no_such_variable }}")
    assert report(cfg(templates_dir=str(custom))) == 1
    assert "digest.html.j2" in caplog.text and "no_such_variable" in caplog.text
    assert smtp.inbox.take() == []
    assert report(cfg()) == 0  # fixed config: the problems are still pending
    assert "7 new DNS problems" in one_mail(smtp).subject


# -- dry run -----------------------------------------------------------------------------


def test_dry_run_prints_the_mail_sends_nothing_and_records_nothing(
    phpipam: PhpipamData,
    smtp: SmtpServer,
    cfg: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    s = seed(phpipam)
    config = cfg()
    capsys.readouterr()
    assert report(config, dry_run=True) == 0
    out = capsys.readouterr().out
    assert smtp.inbox.take() == []
    assert not (tmp_path / "state.db").exists()  # not even created

    assert out.startswith("From pphook@example.com ")
    import email
    import email.policy

    printed = email.message_from_string(out.split("\n", 1)[1], policy=email.policy.default)
    assert isinstance(printed, EmailMessage)
    assert printed["Subject"] == "[pphook] phpIPAM: 7 new DNS problems"
    assert printed["To"] == "dns-admins@example.com"
    assert printed.get_content_type() == "multipart/alternative"
    plain = printed.get_body(("plain",))
    assert plain is not None and f"row {s.dup_host}" in plain.get_content()

    assert report(config, dry_run=True) == 0  # still new: nothing was recorded
    assert "7 new DNS problems" in capsys.readouterr().out
    assert report(config) == 0
    mail = one_mail(smtp)
    assert mail.subject == printed["Subject"]
    # the same mail, but for its timestamp line and the audit head in the footer
    assert _body(mail.text) == _body(plain.get_content())


def _body(text: str) -> str:
    return text.split("\n", 1)[1].split("\n-- \n", 1)[0]


def test_dry_run_after_real_passes_changes_no_state(
    phpipam: PhpipamData,
    smtp: SmtpServer,
    cfg: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    s = seed(phpipam)
    config = cfg()
    report(config)
    smtp.inbox.take()
    phpipam.update_address(s.bad_name, hostname="other_bad.example.com")
    before = _dump(tmp_path / "state.db")
    capsys.readouterr()
    assert report(config, dry_run=True) == 0
    assert "1 new DNS problem" in capsys.readouterr().out
    assert _dump(tmp_path / "state.db") == before
    report(config)
    assert "other_bad.example.com" in one_mail(smtp).text


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def test_audit_chain_of_real_passes_verifies(
    phpipam: PhpipamData, smtp: SmtpServer, cfg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s = seed(phpipam)
    config = cfg()
    report(config)
    phpipam.delete_address(s.bad_mac)
    report(config)
    capsys.readouterr()
    assert run_audit(config, "verify", None, None) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit log ok: 9 entries")  # 7 detected, 1 mail, 1 resolved
    head_hash = out.split("sha256 ")[1].strip()
    mails = smtp.inbox.take()
    # the mail carries the head it was sent under: an outside copy of the chain's state
    assert "Audit log head at sending: #7 sha256 " in mails[0].text
    assert len(head_hash) == 64
