"""pphook benchmark: pdns_server with pphook (unix, pipe, relay) against gmysql.

Run ``.venv/bin/python -m bench.run --help`` (or ``bench/run``); docs/performance.md
describes the method and holds the last full run's figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The test servers (tests/infra: MariaDB, pdns_server, pphook serve) are reused as is.
# The project root goes first so `remote_backend` is never a same-named tests/ folder.
for _index, _path in enumerate((str(ROOT), str(ROOT / "tests"))):
    if _path not in sys.path:
        sys.path.insert(_index, _path)
