"""The anchor: PowerDNS's own gmysql backend holding the records pphook publishes.

The schema is the one Debian's pdns-backend-mysql ships; the rows come from the
snapshot dump (``records.tsv``, = ``pphook export``), so both backends serve the same
names, types, contents (MX and SRV priorities in gmysql's ``prio`` column, as pdns 4.7
reads them), TTLs and SOA: phpIPAM hosts, aliases (CNAME), static records and the
delegation with its glue. As ``pdnsutil rectify-zone`` would: empty non-terminals get
rows (type NULL, auth 1), and a delegation's NS and everything below it are not
authoritative (auth 0), so ENT answers and referrals match too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from infra import gmysql as infra_gmysql
from infra.mariadb import MariaDBServer

DATABASE = "pdns"


def _ents(owners: set[str], apex: str) -> set[str]:
    ents: set[str] = set()
    for owner in owners:
        name = owner
        while name != apex and "." in name:
            name = name.partition(".")[2]
            if name == apex or name in ents or not name.endswith(apex):
                break
            ents.add(name)
    return ents - owners


def _below_cut(owner: str, zone: str, cuts: set[tuple[str, str]]) -> bool:
    """Whether ``owner`` is at or below a delegation of ``zone``."""
    name = owner
    while name != zone and "." in name:
        if (zone, name) in cuts:
            return True
        name = name.partition(".")[2]
    return False


def load(db: MariaDBServer, dump: Path, workdir: Path) -> dict[str, float]:
    """Create the ``pdns`` database from the Debian schema and bulk-load the dump."""
    t0 = time.monotonic()
    meta = json.loads((dump / "zones.json").read_text())
    ttl = int(meta["ttl"])
    ids = {z["name"]: z["id"] for z in meta["zones"]}
    owners: dict[str, set[str]] = {name: set() for name in ids}
    cuts: set[tuple[str, str]] = set()  # (zone, owner) of NS below an apex: delegations
    with open(dump / "records.tsv", encoding="utf-8") as src:
        for line in src:
            zone, owner, qtype, _ = line.split("\t", 3)
            if qtype == "NS" and owner != zone:
                cuts.add((zone, owner))
    tsv = workdir / "gmysql-records.tsv"
    rows = 0
    with open(dump / "records.tsv", encoding="utf-8") as src, open(tsv, "w") as out:
        for line in src:
            zone, owner, qtype, content, record_ttl = line.rstrip("\n").split("\t")
            owners[zone].add(owner)
            auth = 0 if cuts and _below_cut(owner, zone, cuts) else 1
            prio = "0"
            if qtype in ("MX", "SRV"):  # gmysql keeps their priority in its own column
                prio, _, content = content.partition(" ")
            out.write(
                f"{ids[zone]}\t{owner}\t{qtype}\t{content}\t{record_ttl}\t{prio}\t0\t\\N\t{auth}\n"
            )
            rows += 1
        for zone, names in owners.items():
            for ent in sorted(_ents(names, zone)):
                if cuts and _below_cut(ent, zone, cuts):
                    continue
                out.write(f"{ids[zone]}\t{ent}\t\\N\t\\N\t{ttl}\t0\t0\t\\N\t1\n")
                rows += 1

    infra_gmysql.create_schema(db, DATABASE)
    conn = db.connect_admin(database=DATABASE, local_infile=True)
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO domains (id, name, type) VALUES (%s, %s, 'NATIVE')",
                sorted((zone_id, name) for name, zone_id in ids.items()),
            )
            cur.execute(
                f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE records "
                "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' "
                "(domain_id, name, type, content, ttl, prio, disabled, ordername, auth)"
            )
            cur.execute("ANALYZE TABLE records, domains")
            cur.fetchall()
    finally:
        conn.close()
    tsv.unlink()
    return {"rows": float(rows), "seconds": time.monotonic() - t0}


def settings(db: MariaDBServer) -> dict[str, str | int]:
    """pdns.conf lines for gmysql (``launch=gmysql`` replaces ``launch=remote``)."""
    return infra_gmysql.settings(db, DATABASE)
