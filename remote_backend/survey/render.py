"""The commented pphook.toml `pphook init` prints (pure: text from the survey)."""

from __future__ import annotations

from dataclasses import dataclass

from remote_backend.config.settings import DEFAULT_STATE_URL, ServerSettings
from remote_backend.survey.forward import ForwardPlan, ForwardZone
from remote_backend.survey.read import Count, Survey, alias_fields, section_counts, state_counts
from remote_backend.survey.reverse import ReversePlan, ReverseZone
from remote_backend.survey.tomltext import toml_list, toml_string
from remote_backend.zones import reverse_zone_name

PLACEHOLDER_ZONE = "example.com"
_PAD = 28  # column of the comments after array entries


@dataclass(frozen=True, slots=True)
class InitOptions:
    ipam_url: str  # without a password
    password_file: str | None = None
    state_url: str = DEFAULT_STATE_URL
    url_had_password: bool = False  # the password given in the URL was left out


def render_config(
    options: InitOptions,
    survey: Survey,
    forward: ForwardPlan,
    reverse: ReversePlan,
    generated_at: str,
) -> str:
    """The whole file."""
    lines = _header(options, survey, forward, generated_at)
    lines += _ipam(options)
    lines += ["", "[state]", f"url = {toml_string(options.state_url)}"]
    lines += ["# serials and notified serials; several pphook nodes share one MariaDB store"]
    lines += ["", "[zones]"]
    lines += _forward(forward)
    lines += _reverse(reverse)
    lines += _soa_names(forward)
    lines += ["", "[policy]"]
    lines += _policy(survey, forward)
    lines += _server()
    return "\n".join(lines) + "\n"


def _header(
    options: InitOptions, survey: Survey, forward: ForwardPlan, generated_at: str
) -> list[str]:
    data = survey.data
    folders = sum(1 for s in data.subnets.values() if s.is_folder)
    return [
        "# pphook.toml written by `pphook init` from phpIPAM",
        f"#   {toml_string(options.ipam_url)} on {generated_at}:",
        f"#   {_n(len(data.addresses), 'address', 'addresses')} ({forward.named_rows} with a "
        f"hostname), {_n(len(data.subnets) - folders, 'subnet')}, {_n(folders, 'folder')}, "
        f"{_n(len(data.sections), 'section')}.",
        "# Read it, EDIT what is marked EDIT, then check it against phpIPAM:",
        "#   pphook --config THIS_FILE check",
        "# Every key: docs/configuration.md.",
    ]


def _ipam(options: InitOptions) -> list[str]:
    lines = ["", "[ipam]", f"url = {toml_string(options.ipam_url)}"]
    if options.password_file is not None:
        lines.append(f"password_file = {toml_string(options.password_file)}   # mode 0640")
    elif options.url_had_password:
        lines += [
            "# EDIT: the password given in --ipam-url is not written here: put it in a file",
            "# (mode 0640, readable by pphook) and name that file:",
            '# password_file = "/etc/pphook/ipam.password"',
        ]
    return lines


def _entry(value: str, comment: str, *, active: bool = True) -> str:
    text = f"{toml_string(value)},"
    if not active:
        text = "# " + text
    return f"    {text:<{_PAD}} # {comment}"


def _forward(plan: ForwardPlan) -> list[str]:
    lines = ["# forward zones: the domains phpIPAM's hostnames use, most rows first"]
    if not plan.zones:
        return [
            *lines,
            "# (no hostname in phpIPAM has a domain yet)",
            f"forward = [{toml_string(PLACEHOLDER_ZONE)}]   # EDIT: a placeholder",
        ]
    lines.append("forward = [")
    for zone in plan.zones:
        lines.append(_entry(zone.name, _forward_comment(zone), active=zone.active))
    lines.append("]")
    for parent, zones in plan.merge_hints:
        lines.append(f"# {', '.join(zones)} could be one zone, {parent}, if that domain is yours")
    if plan.short_names:
        biggest = plan.active[0].name if plan.active else PLACEHOLDER_ZONE
        lines += [
            f"# {_n(plan.short_names, 'hostname')} with a single label (no domain): rejected",
            "# (ZONE_NOT_FOUND) unless qualified with a domain, e.g.:",
            f"# default_domain = {toml_string(biggest)}",
        ]
    if plan.no_domain:
        lines.append(
            f"# {_n(plan.no_domain, 'hostname')} without a valid domain (rejected either way)"
        )
    return lines


def _forward_comment(zone: ForwardZone) -> str:
    text = _n(zone.rows, "row")
    if zone.covers:
        shown = ", ".join(f"{name}: {n}" for name, n in zone.covers[:3])
        more = f" and {len(zone.covers) - 3} more" if len(zone.covers) > 3 else ""
        text += f" (with {shown}{more})"
    if zone.top_level:
        text += "; a top-level name, serve it only if it is really yours"
    elif not zone.active:
        text += "; few rows (a typo?): uncomment if it is yours"
    return text


def _n(n: int, one: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _reverse(plan: ReversePlan) -> list[str]:
    lines = [
        "",
        "# reverse zones covering phpIPAM's subnets (octet / nibble aligned; a /25-/32",
        "# entry is a classless RFC 2317 block)",
    ]
    if not plan.zones:
        lines.append("reverse = []   # phpIPAM has no subnet yet")
    else:
        lines.append("reverse = [")
        lines += [_entry(str(z.network), _reverse_comment(z)) for z in plan.zones]
        lines.append("]")
    for net in plan.too_wide:
        lines.append(f"# subnet {net} is too wide to serve whole: only the zones above")
    if plan.uncovered_addresses:
        lines.append(
            f"# {_n(plan.uncovered_addresses, 'address', 'addresses')} in none of these zones "
            "(folders, wide containers): no PTR"
        )
    return lines


def _reverse_comment(zone: ReverseZone) -> str:
    counts = f"{_n(zone.subnets, 'subnet')}, {_n(zone.addresses, 'address', 'addresses')}"
    if not zone.classless:
        return f"{reverse_zone_name(zone.network)}: {counts}"
    net = zone.network
    first = str(net.network_address).split(".")[3]
    parent = reverse_zone_name(net.supernet(new_prefix=24))
    return (
        f"classless block {first}/{net.prefixlen}.{parent}: {counts}; public space, "
        f"so {parent} is probably your provider's: it must CNAME into this block"
    )


def _soa_names(plan: ForwardPlan) -> list[str]:
    zone = plan.active[0].name if plan.active else PLACEHOLDER_ZONE
    return [
        "",
        "# EDIT: placeholders from the biggest zone: the NS names of every zone (the first",
        "# is the SOA MNAME) and the SOA mailbox",
        f"nameservers = {toml_list([f'ns1.{zone}', f'ns2.{zone}'])}",
        f"hostmaster = {toml_string(f'hostmaster.{zone}')}",
        "ttl = 3600",
        "# BIND secondaries with catalog-zones follow the zone list through this catalog",
        "# (RFC 9432; pdns-config/named-catalog.conf):",
        '# catalog = "catalog.invalid"',
    ]


def _policy(survey: Survey, forward: ForwardPlan) -> list[str]:
    data = survey.data
    lines = ["# sections of phpIPAM (addresses, of which with a hostname):"]
    sections = section_counts(data)
    for c in sections:
        label = toml_string(c.label) if c.key is not None else "(in no section)"
        lines.append(f"#   {label:<24} {c.rows:>8}  {c.named:>8}")
    lines += [
        "# publish only some of them (the others are neither published nor reported), e.g.:",
        f"# sections = {toml_list([sections[0].label])}" if sections and sections[0].key else "",
        "sections = []",
        "# states (phpIPAM tags) of the addresses:",
    ]
    lines = [line for line in lines if line]
    lines += [f"#   {_state_label(c):<24} {c.rows:>8}" for c in state_counts(data)]
    used = data.tags.get(2)
    lines += [
        "# publish only some of them (empty: every state, NULL included), e.g.:",
        f"# publish_states = {toml_list([used])}" if used else "# publish_states = [2]",
        "publish_states = []",
    ]
    if forward.underscores:
        lines += [
            f"# {_n(forward.underscores, 'hostname')} with an underscore: not a valid host name,",
            "# rejected (HOSTNAME_INVALID) unless allowed:",
        ]
    lines.append("allow_underscore = false")
    if survey.custom_fields:
        lines.append(
            "# custom fields of ipaddresses: "
            + ", ".join(toml_string(f) for f in survey.custom_fields)
        )
    for field in alias_fields(survey.custom_fields):
        lines += [
            f"# {toml_string(field)} looks like aliases: with policy.alias_field, each name",
            "# in it becomes a CNAME to the row's hostname:",
            f"# alias_field = {toml_string(field)}",
        ]
    return lines


def _state_label(c: Count) -> str:
    if c.key is None:
        return "NULL"
    if not c.label:
        return f"id {c.key} (no such tag)"
    return f"{toml_string(c.label)} (id {c.key})"


def _server() -> list[str]:
    d = ServerSettings()
    return [
        "",
        "[server]",
        f"socket = {toml_string(d.socket)}",
        'socket_group = "pdns"   # pdns reads the socket (mode 0660)',
        "# seconds between change checks (one ~1 ms query): changes show in DNS within ~2 s",
        "refresh_interval = 0.5",
        "# purge changed names from pdns's caches after each refresh (caches can stay on;",
        "# pphook's user must reach pdns's control socket):",
        '# pdns_control = "/usr/bin/pdns_control"',
        '# pdns_socket_dir = "/run/pdns"',
    ]
