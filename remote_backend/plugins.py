"""What other packages add to the `pphook` command: verbs and config sections.

The backend never imports its consumers (the notifier builds on the backend, not the
other way round). A package that adds verbs or config sections declares them as
entry points in pyproject.toml, the way pytest and flake8 find their plugins:

- ``pphook.verbs``: an object with ``name``, ``help``, ``sections`` (the config
  sections the verb needs), ``add_arguments(parser)`` and ``run(config, args)``;
- ``pphook.config_sections``: a function ``parse(reader, table)`` that checks one
  section with the shared ``TomlReader`` and returns its settings object.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from remote_backend.config.settings import Config
    from remote_backend.config.toml import TomlReader

VERB_GROUP = "pphook.verbs"
SECTION_GROUP = "pphook.config_sections"


class VerbPlugin(Protocol):
    name: str
    help: str
    sections: tuple[str, ...]  # config sections the verb needs (required)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, config: Config, args: argparse.Namespace) -> int: ...


class SectionParser(Protocol):
    def __call__(self, reader: TomlReader, table: Mapping[str, Any]) -> object: ...


@cache
def plugin_verbs() -> tuple[VerbPlugin, ...]:
    """Verbs declared by installed packages, in entry-point name order."""
    found = sorted(entry_points(group=VERB_GROUP), key=lambda ep: ep.name)
    return tuple(ep.load() for ep in found)


@cache
def section_parsers() -> dict[str, SectionParser]:
    """Config section name -> its parser, as declared by installed packages."""
    return {ep.name: ep.load() for ep in entry_points(group=SECTION_GROUP)}
