"""Jinja2 templates: the shipped ones in notifier/templates/, overridable per file.

A file in ``notifier.templates_dir`` replaces the shipped file of the same name (the
others still come from the package), so an operator can change one template, or a
shared macro file, without copying the rest. HTML templates (``*.html.j2``) are
autoescaped; undefined variables are errors, so a typo in a custom template fails
the pass loudly instead of mailing a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from notifier.errors import TemplateError

SHIPPED = Path(__file__).resolve().parent / "templates"


class Renderer:
    def __init__(self, templates_dir: str | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir:
            if not Path(templates_dir).is_dir():
                raise TemplateError(
                    f"notifier.templates_dir {templates_dir!r} is not a readable directory "
                    "(create it, or remove the key to use the shipped templates)"
                )
            loaders.append(jinja2.FileSystemLoader(templates_dir))
        loaders.append(jinja2.FileSystemLoader(str(SHIPPED)))
        self.templates_dir = templates_dir
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "html.j2", "htm"),
                default_for_string=False,
                default=False,
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"mail template {exc.name!r} not found in {self._where()}") from exc
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or name
            line = getattr(exc, "lineno", None)
            at = f"{where}:{line}" if line else where
            raise TemplateError(
                f"mail template {at} does not render: {exc} (fix the template; no mail "
                "was sent and nothing was marked as reported)"
            ) from exc

    def pair(self, base: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """``base.txt.j2`` and ``base.html.j2`` rendered with the same context."""
        return self.render(f"{base}.txt.j2", context), self.render(f"{base}.html.j2", context)

    def _where(self) -> str:
        shipped = str(SHIPPED)
        return f"{self.templates_dir} or {shipped}" if self.templates_dir else shipped
