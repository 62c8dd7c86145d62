"""The shared snapshot: what `serve` publishes and pdns's coprocesses answer from.

One LMDB environment on local disk: `serve` is its only writer, every `pphook pipe`
coprocess a reader. Readers map the file and read without locks or copies (LMDB's
MVCC: a read transaction sees one committed state), so a coprocess never waits for
`serve` nor for another coprocess, and pdns can run as many as it has threads. The
file outlives restarts, so it is also the last good snapshot: a coprocess answers from
it while `serve` is down or phpIPAM is unreachable.

``layout`` holds the format (keys, meta, files), ``writer`` the writer, ``reader`` the
readers, ``notified`` the NOTIFY bookkeeping the coprocesses keep themselves.
"""
