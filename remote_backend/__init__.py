"""pphook: a PowerDNS remote backend answering straight from the phpIPAM database."""

__version__ = "0.1.0"
