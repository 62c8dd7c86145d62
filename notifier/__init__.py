"""The notifier: mails administrators what phpIPAM holds that DNS cannot publish.

Same reader and validators as the backend (so mails and DNS never disagree), a diff
against what was already reported (state store), jinja2 templates, SMTP, and a
hash-chained audit log. It never writes to the phpIPAM database.

Entry points for the CLI: ``notifier.cli.run_report``, ``run_daemon``, ``run_audit``.
"""

from notifier.errors import (
    AuditQueryError,
    NotifierError,
    PassInProgressError,
    SmtpError,
    TemplateError,
)
from notifier.problems import Problem, RowFacts, find_problems

__all__ = [
    "AuditQueryError",
    "NotifierError",
    "PassInProgressError",
    "Problem",
    "RowFacts",
    "SmtpError",
    "TemplateError",
    "find_problems",
]
