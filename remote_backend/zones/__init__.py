"""Served zones: their settings and the names of reverse zones and PTR owners."""

from remote_backend.zones.naming import reverse_name, reverse_zone_name
from remote_backend.zones.settings import IPNetwork, SoaTimers, ZoneSettings

__all__ = ["IPNetwork", "SoaTimers", "ZoneSettings", "reverse_name", "reverse_zone_name"]
