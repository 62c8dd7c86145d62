"""The PowerDNS remote-backend protocol: request lines in, reply lines out.

Nothing is imported here on purpose: ``protocol.wire`` must load on its own, fast
(the relay and the pipe coprocesses import it), without the snapshot and validators
that ``protocol.handler`` pulls in.
"""
