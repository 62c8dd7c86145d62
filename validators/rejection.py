"""The verdict a single rule gives about a row it does not let through."""

from __future__ import annotations

from typing import NamedTuple

from validators.codes import Code


class Rejection(NamedTuple):
    """Why a row stops at a rule: the code and a one-line reason for the operator."""

    code: Code
    reason: str
