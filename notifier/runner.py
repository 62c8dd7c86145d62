"""One notifier pass, and the daemon loop around it.

pass = read phpIPAM -> validators -> problem set (+ secondaries behind pphook for longer
than notifier.secondary_lag) -> diff with the state store ->
record detections/resolutions (audited) -> compose -> send within the rate limit ->
mark what the SMTP server accepted (audited). A mail that is not accepted marks
nothing, so its problems are simply still pending at the next pass.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.policy import SMTP
from typing import Any, TextIO

from notifier.compose import Composer, Outgoing
from notifier.diff import Changes, compute_changes
from notifier.errors import NotifierError, PassInProgressError, SmtpError
from notifier.mailer import SmtpMailer, recipients
from notifier.problems import find_problems
from notifier.render import Renderer
from notifier.secondaries import SoaQuery, secondary_problems
from notifier.settings import NotifierSettings, notifier_settings
from notifier.store import NotifierStore, open_store
from remote_backend.config import Config, read_secret, secret_file_warnings
from remote_backend.errors import IpamError, PphookError
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.ipam.people import change_authors, mail_notify_admins
from remote_backend.ipam.site import pretty_links
from remote_backend.secondaries.soa import query_soa
from remote_backend.snapshot.extras import zone_facts
from remote_backend.zones.static import StaticSource
from validators import validate

log = logging.getLogger("pphook.notifier")

# A pass holds the lease this long, renewed before every mail; a crashed holder
# blocks other passes for at most this long.
LEASE_TTL = 600.0
MIN_INTERVAL = 1.0
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class PassResult:
    problems: int  # open problems now
    new: int
    resolved: int
    mailed: int  # messages the SMTP server accepted (dry run: printed)
    waiting: int  # problems and resolutions still to be mailed after this pass


class Notifier:
    """Everything a pass needs; ``mailer_factory``, ``clock`` and ``soa_query`` are
    seams for tests."""

    def __init__(
        self,
        config: Config,
        settings: NotifierSettings,
        reader: IpamReader,
        store: NotifierStore,
        renderer: Renderer,
        *,
        mailer_factory: Callable[[], SmtpMailer],
        clock: Callable[[], float] = time.time,
        node: str | None = None,
        soa_query: SoaQuery = query_soa,
    ) -> None:
        self.config = config
        self.settings = settings
        self.reader = reader
        self.store = store
        zones = config.zones
        # what the zones hold besides phpIPAM hosts (delegations, static CNAMEs): the
        # rules need it, so the mails say what DNS does
        self.static = StaticSource(
            zones.static_dir, zones.member_zone_names, zones.ttl, zones.catalog
        )
        self.mailer_factory = mailer_factory
        self.clock = clock
        self.soa_query = soa_query
        node = node or socket.gethostname()
        self.composer = Composer(settings, renderer, node)
        self.holder = f"{node}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def close(self) -> None:
        self.store.close()
        self.reader.engine.dispose()

    # -- one pass ------------------------------------------------------------------

    def run_pass(self, *, dry_run: bool = False, out: TextIO | None = None) -> PassResult:
        """One pass; ``dry_run`` writes the messages to ``out`` and changes nothing."""
        if dry_run:
            return self._pass(dry_run=True, out=out)
        other = self.store.acquire_lease(self.holder, LEASE_TTL, self.clock())
        if other is not None:
            raise PassInProgressError(
                f"another notifier pass is running ({other}); this one is skipped. "
                "Run `pphook report` only when no `pphook notifier` daemon shares this "
                "state store, or wait for its pass to finish"
            )
        try:
            return self._pass(dry_run=False, out=None)
        finally:
            self.store.release_lease(self.holder)

    def _pass(self, *, dry_run: bool, out: TextIO | None) -> PassResult:
        now = self.clock()
        # as `serve` does: a static file that breaks keeps its last good content (the
        # problem is logged once), so the rules see the zones `serve` publishes
        self.static.refresh()
        data = self.reader.read()
        facts = zone_facts(self.config.zones, self.static.data)
        publication = validate(data, self.config.policy, facts)
        current = find_problems(data, publication, self.config.policy)
        stored = self.store.load()
        current.update(
            secondary_problems(
                self.config,
                self.store,
                stored,
                now,
                lag=self.settings.secondary_lag,
                dry_run=dry_run,
                query=self.soa_query,
            )
        )
        changes = compute_changes(
            stored, current, resolved_mails=self.settings.resolved_mails, now=now
        )
        if not dry_run:
            self.store.apply(changes, resolved_mails=self.settings.resolved_mails, now=now)
        waiting = len(changes.to_mail) + len(changes.resolved_to_mail)
        log.info(
            "pass: %d open problems, %d new, %d resolved, %d to mail",
            len(current),
            len(changes.new),
            len(changes.resolved),
            waiting,
        )
        result = PassResult(len(current), len(changes.new), len(changes.resolved), 0, waiting)
        if changes.nothing_to_mail:
            return result
        outgoing = self._compose(changes, now)
        if dry_run:
            _write_mbox(outgoing, self.settings.sender, out)
            return _with_mailed(result, outgoing)
        sent = self._send(outgoing)
        return _with_mailed(result, outgoing[:sent])

    def _compose(self, changes: Changes, now: float) -> list[Outgoing]:
        rcpts = self._recipients()
        if not rcpts:
            raise NotifierError(
                "no usable recipient: notifier.to is empty and no phpIPAM administrator "
                "has mailNotify = Yes and a plain mail address; the problems stay pending"
            )
        limit = self._budget(now)
        if limit == 0:
            log.warning(
                "rate limit reached (notifier.max_mails_per_hour = %d): %d problems and "
                "resolutions wait for a later pass",
                self.settings.max_mails_per_hour,
                len(changes.to_mail) + len(changes.resolved_to_mail),
            )
            return []
        row_ids = {r.id for p in changes.to_mail for r in p.rows if r.exists}
        row_ids |= {r.id for s in changes.resolved_to_mail for r in s.problem.rows}
        outgoing = self.composer.compose(
            changes.to_mail,
            changes.resolved_to_mail,
            changes=change_authors(self.reader, row_ids),
            recipients=rcpts,
            audit_head=self.store.audit_head(),
            now=now,
            limit=limit,
            pretty_links=self.settings.phpipam_url is not None and pretty_links(self.reader),
        )
        held = (
            len(changes.to_mail)
            + len(changes.resolved_to_mail)
            - sum(len(o.problems) + len(o.resolved) for o in outgoing)
        )
        if held:
            log.warning(
                "rate limit (notifier.max_mails_per_hour = %d): %d problems and "
                "resolutions wait for a later pass",
                self.settings.max_mails_per_hour,
                held,
            )
        return outgoing

    def _recipients(self) -> list[str]:
        admins: list[str] = []
        if self.settings.phpipam_admins:
            try:
                admins = [u.email for u in mail_notify_admins(self.reader) if u.email]
            except IpamError as exc:
                log.warning(
                    "cannot read the phpIPAM administrators, mailing notifier.to only: %s", exc
                )
        return recipients(self.settings.to, admins)

    def _budget(self, now: float) -> int | None:
        limit = self.settings.max_mails_per_hour
        if limit <= 0:
            return None  # 0 = no limit
        return max(0, limit - self.store.mails_sent_since(now - HOUR))

    def _send(self, outgoing: Sequence[Outgoing]) -> int:
        """Send in order; stop at the first failure. Returns how many were accepted."""
        sent = 0
        with self.mailer_factory() as mailer:
            for mail in outgoing:
                self.store.acquire_lease(self.holder, LEASE_TTL, self.clock())
                try:
                    mailer.send(mail.message, mail.recipients)
                except SmtpError as exc:
                    self.store.record_failure(
                        {**_mail_audit(mail), "error": str(exc)[:500]}, self.clock()
                    )
                    left = len(outgoing) - sent
                    raise SmtpError(
                        f"{exc} [{sent} mails sent, {left} left for the next pass]"
                    ) from exc
                self.store.mark_sent(
                    problems=mail.problems,
                    resolved_keys=[s.key for s in mail.resolved],
                    kind=mail.kind,
                    message_id=mail.message_id,
                    audit_data=_mail_audit(mail),
                    now=self.clock(),
                )
                sent += 1
                log.info(
                    "mailed %s to %s: %d problems, %d resolved",
                    mail.kind,
                    ", ".join(mail.recipients),
                    len(mail.problems),
                    len(mail.resolved),
                )
        return sent

    # -- the daemon ----------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """A pass every ``notifier.interval`` seconds until ``stop`` is set."""
        interval = max(MIN_INTERVAL, self.settings.interval)
        log.info("notifier started: a pass every %.0f s", interval)
        while not stop.is_set():
            try:
                self.run_pass()
            except PassInProgressError as exc:
                log.info("%s", exc)
            except PphookError as exc:
                log.error("notifier pass failed: %s (next try in %.0f s)", exc, interval)
            except Exception:
                log.exception("notifier pass failed unexpectedly (next try in %.0f s)", interval)
            stop.wait(interval)
        log.info("notifier stopped")


def _with_mailed(result: PassResult, mailed: Sequence[Outgoing]) -> PassResult:
    done = sum(len(o.problems) + len(o.resolved) for o in mailed)
    return PassResult(
        result.problems, result.new, result.resolved, len(mailed), result.waiting - done
    )


def _mail_audit(mail: Outgoing) -> dict[str, Any]:
    return {
        "kind": mail.kind,
        "message_id": mail.message_id,
        "subject": str(mail.message["Subject"]),
        "recipients": list(mail.recipients),
        "problems": [p.key for p in mail.problems],
        "resolved": [s.key for s in mail.resolved],
        "sha256": hashlib.sha256(mail.message.as_bytes(policy=SMTP)).hexdigest(),
    }


def _write_mbox(outgoing: Sequence[Outgoing], sender: str, out: TextIO | None) -> None:
    """The messages as an mbox: a ``From `` line, then the message as it would go out
    (LF line ends instead of SMTP's CRLF)."""
    if out is None:
        return
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())
    for mail in outgoing:
        out.write(f"From {sender} {stamp}\n")
        out.write(mail.message.as_string(policy=SMTP.clone(linesep="\n")))
        out.write("\n")
    out.flush()


def open_notifier(config: Config, *, dry_run: bool = False) -> Notifier:
    """Reader, store, templates and mailer for ``config`` (checked before any pass)."""
    settings = notifier_settings(config)
    mailer_factory = _mailer_factory(config, settings)
    if not dry_run:
        mailer_factory().close()  # reads the SMTP password now: fail at start, not at 3 am
    renderer = Renderer(settings.templates_dir)
    reader = IpamReader(make_engine(config.ipam, config.ipam_password()), config.policy.alias_field)
    store = open_store(config.state.url, dry_run=dry_run)
    return Notifier(config, settings, reader, store, renderer, mailer_factory=mailer_factory)


def _mailer_factory(config: Config, settings: NotifierSettings) -> Callable[[], SmtpMailer]:
    if settings.smtp_user and not settings.smtp_password_file:
        raise NotifierError(
            f"{config.path}: notifier.smtp_user is set but notifier.smtp_password_file is "
            "not: put the SMTP password in a file (mode 0640) and name it there"
        )
    if settings.smtp_password_file:
        for warning in secret_file_warnings(settings.smtp_password_file):
            log.warning("%s", warning)

    def factory() -> SmtpMailer:
        # read on every pass so a rotated password is picked up without a restart
        password = None
        if settings.smtp_user and settings.smtp_password_file:
            password = read_secret(
                config.path, "notifier.smtp_password_file", settings.smtp_password_file
            )
        return SmtpMailer(settings, password)

    return factory
