"""Builds snapshots (reader -> validators -> snapshot) and keeps the current one fresh."""
