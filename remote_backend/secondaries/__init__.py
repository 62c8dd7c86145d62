"""Secondaries (``zones.secondaries``): their addresses, SOA queries, lag logic and
the watcher behind `pphook check` and the metrics."""
