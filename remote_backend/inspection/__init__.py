"""What operators read: `explain` (rows and decisions behind a name) and `export` (a zone file)."""
