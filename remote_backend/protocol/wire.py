"""Fixed replies and limits of the remote-backend wire format, importable on their own.

Kept apart from ``protocol`` (which pulls in the snapshot and validators) so that
``pphook pipe --relay`` starts in a few tens of milliseconds: pdns forks a fresh
coprocess for every AXFR, and that start-up is on the transfer's critical path.
"""

from __future__ import annotations

MAX_LINE = 1 << 20  # bytes; pdns's requests are a few hundred bytes

FALSE = b'{"result":false}\n'
TRUE = b'{"result":true}\n'
EMPTY_OBJECT = b'{"result":{}}\n'
EMPTY_ARRAY = b'{"result":[]}\n'
# A reply without "result": pdns raises a DBException and resets the connector. Used
# only where false would do harm (see protocol._get_all_domains).
NO_RESULT = b'{"error":"pphook internal error, see its log"}\n'

# `pipe --relay` defaults (server.relay_timeout, server.relay_list_timeout): seconds to
# wait for `serve` per request, and per `list` (AXFR) or getAllDomains
RELAY_TIMEOUT = 2.0
RELAY_LIST_TIMEOUT = 120.0
