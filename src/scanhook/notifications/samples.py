"""Realistic sample notifications for tests, the demo and the benchmarks.

Every value is drawn from ``random.Random`` so that a seed gives the same notifications. The
distributions are meant to look like a real Security Center's traffic, not to be statistics:

* Ticket severities: Info 30 %, Low 25 %, Medium 25 %, High 15 %, Critical 5 %
  (:data:`SEVERITY_WEIGHTS`); the due date is the ticket's day plus :data:`DUE_DAYS` of its
  severity.
* Closed tickets are ``"Closed (Fixed)"`` nine times in ten, else closed as accepted risk or as a
  false positive.
* Finished scans: critical findings are rare (most scans find none), low and medium are common;
  network scans take minutes to a few hours, web application scans up to more than a day; about
  one scan in eight reports errors (joined by a blank line), and a few are aborted.
* Scheduled scans are announced 24 h or 1 h ahead and start on a quarter hour.

:func:`samples` is the entry point of ``scanhook sample``; with a seed and no ``now`` the times
are anchored at :data:`SEED_NOW`, so the same seed gives byte-identical output on any day.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Final, TypeVar

from scanhook.notifications.models import (
    EVENT_TYPES,
    EventType,
    FinishedScan,
    Notification,
    ScanType,
    ScheduledScan,
    Severity,
    Ticket,
)
from scanhook.notifications.timefmt import format_duration

__all__ = [
    "DUE_DAYS",
    "SAMPLE_KINDS",
    "SEED_NOW",
    "SEVERITY_WEIGHTS",
    "sample",
    "samples",
]

#: What :func:`samples` (and ``scanhook sample``) accepts: a top-level key, an event type, or
#: ``all`` (the four event types in turn) or ``mixed`` (a random mix, tickets most common).
SAMPLE_KINDS: Final = (
    "scheduled_scan",
    "finished_scan",
    "ticket",
    "ticket.opened",
    "ticket.closed",
    "all",
    "mixed",
)

#: The "now" of seeded samples when none is given: a Monday morning, UTC.
SEED_NOW: Final = datetime(2026, 1, 12, 8, 30, tzinfo=UTC)

SEVERITY_WEIGHTS: Final[dict[Severity, int]] = {
    "Info": 30,
    "Low": 25,
    "Medium": 25,
    "High": 15,
    "Critical": 5,
}

#: Days from the ticket's day to its due date, by severity (a common remediation policy).
DUE_DAYS: Final[dict[Severity, int]] = {
    "Critical": 7,
    "High": 30,
    "Medium": 90,
    "Low": 180,
    "Info": 365,
}

_MIXED_WEIGHTS: Final[dict[EventType, int]] = {
    "scheduled_scan": 15,
    "finished_scan": 15,
    "ticket.opened": 40,
    "ticket.closed": 30,
}

_BASE_URL: Final = "https://sc.example.com"
_T = TypeVar("_T")

_NETWORK_SCANS: Final = (
    "Daily scan",
    "Nightly internal network scan",
    "Weekly external perimeter",
    "PCI DSS quarterly ASV",
    "Datacenter Stockholm - full TCP",
    "DMZ discovery",
    "Office network (Gothenburg)",
    "Windows servers authenticated scan",
    "Linux fleet patch audit",
    "New assets discovery",
    "Cloud VPC eu-north-1",
)
_WEB_SCANS: Final = (
    "Customer portal",
    "Webshop checkout (authenticated)",
    "Public API gateway",
    "Intranet wiki",
    "Partner extranet",
    "Marketing site www.example.com",
    "OWASP Top 10 - staging",
)

_SCAN_ERRORS: Final = (
    "Host 10.20.4.17 did not respond to ping or TCP probes; it was not scanned.",
    "Authentication failed for SSH on db-02.corp.example (user scan-svc).",
    "Authentication failed for SMB on fs-01.corp.example: account locked out.",
    "Scan window ended before all hosts were scanned; 12 hosts were skipped.",
    "Target https://portal.example.com/login returned HTTP 503 for 15 minutes.",
    "Crawler reached the page limit (5000) before the end of the site.",
    "TLS handshake with 203.0.113.40:8443 failed: unsupported protocol.",
    "Scanner node sc-node-03 lost connection to the Security Center for 4 minutes.",
)

_ABORTED_ERRORS: Final = (
    "Scan aborted by user anna.lindqvist@example.com.",
    "Scan aborted: the scanner appliance was restarted.",
)

_HOST_ROLES: Final = (
    "web",
    "app",
    "db",
    "mail",
    "vpn",
    "fs",
    "dc",
    "proxy",
    "jump",
    "k8s-node",
    "ci",
    "backup",
)
_HOST_ENVS: Final = ("prod", "stage", "dev", "test")
_HOST_DOMAINS: Final = ("example.com", "corp.example", "dmz.example.com", "eu.example.net")

_FIRST_NAMES: Final = (
    "anna",
    "erik",
    "maria",
    "johan",
    "sara",
    "lars",
    "emma",
    "karl",
    "elin",
    "oskar",
    "lina",
    "mohammed",
    "fatima",
    "jonas",
    "ida",
    "peter",
)
_LAST_NAMES: Final = (
    "andersson",
    "johansson",
    "karlsson",
    "nilsson",
    "eriksson",
    "larsson",
    "olsson",
    "persson",
    "svensson",
    "lindqvist",
    "berg",
    "holm",
    "ali",
    "novak",
    "smith",
)

#: Real-looking vulnerability names by severity.
_VULNERABILITIES: Final[dict[Severity, tuple[str, ...]]] = {
    "Critical": (
        "Apache Log4j Remote Code Execution (CVE-2021-44228)",
        "Microsoft Exchange Server ProxyShell Remote Code Execution (CVE-2021-34473)",
        "Fortinet FortiOS SSL-VPN Heap Overflow (CVE-2022-42475)",
        "Citrix ADC and Gateway Remote Code Execution (CVE-2023-3519)",
        "Ivanti Connect Secure Authentication Bypass (CVE-2023-46805)",
        "Microsoft Windows SMBv1 Multiple Vulnerabilities (MS17-010)",
        "Unsupported Operating System: Windows Server 2008 R2",
    ),
    "High": (
        "OpenSSL 3.0.x < 3.0.7 Multiple Vulnerabilities",
        "Apache HTTP Server 2.4.x < 2.4.56 Multiple Vulnerabilities",
        "OpenSSH < 9.3p2 Remote Code Execution (CVE-2023-38408)",
        "Microsoft Windows Print Spooler Remote Code Execution (PrintNightmare)",
        "PHP 8.1.x < 8.1.29 Multiple Vulnerabilities",
        "jQuery < 3.5.0 Cross-Site Scripting",
        "SQL Injection in login form parameter 'username'",
        "Nginx < 1.25.3 HTTP/2 Rapid Reset Denial of Service (CVE-2023-44487)",
    ),
    "Medium": (
        "SSL Certificate Cannot Be Trusted",
        "SSL Medium Strength Cipher Suites Supported (SWEET32)",
        "SMB Signing not required",
        "Reflected Cross-Site Scripting in parameter 'q'",
        "HTTP TRACE / TRACK Methods Allowed",
        "Missing Content-Security-Policy header",
        "Microsoft Windows Remote Desktop Protocol Server Man-in-the-Middle Weakness",
        "Cookie without Secure flag",
    ),
    "Low": (
        "TLS Version 1.0 Protocol Detection",
        "TLS Version 1.1 Deprecated Protocol",
        "SSH Weak Key Exchange Algorithms Enabled",
        "ICMP Timestamp Request Remote Date Disclosure",
        "Web Server Allows Directory Listing",
        "Cookie without HttpOnly flag",
        "X-Frame-Options header not set",
    ),
    "Info": (
        "OS Identification",
        "Open TCP port 443 (https)",
        "SSL Certificate Expiry in 30 Days",
        "HTTP Server Type and Version",
        "Traceroute Information",
        "DNS Server Version Detection",
        "Robots.txt Information Disclosure",
    ),
}


def _weighted(rng: random.Random, weights: dict[_T, int]) -> _T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _owner(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}@example.com"


def _asset_name(rng: random.Random) -> str:
    env = rng.choice(_HOST_ENVS)
    role = rng.choice(_HOST_ROLES)
    domain = rng.choice(_HOST_DOMAINS)
    if rng.random() < 0.5:
        return f"{env}-{role}-{rng.randint(1, 12):02d}.{domain}"
    return f"{role}-{rng.randint(1, 9):02d}.{domain}"


def _scan_name(rng: random.Random, scan_type: ScanType) -> str:
    return rng.choice(_NETWORK_SCANS if scan_type == "network" else _WEB_SCANS)


def _scan_type(rng: random.Random) -> ScanType:
    return "network" if rng.random() < 0.7 else "web application"


def _count(rng: random.Random, p_any: float, mean: float) -> int:
    """0 with probability ``1 - p_any``, else a count around ``mean`` (at least 1)."""
    if rng.random() >= p_any:
        return 0
    return max(1, round(rng.expovariate(1 / mean)))


def scheduled_scan(rng: random.Random, now: datetime) -> ScheduledScan:
    """A scan announced 24 h or 1 h before it starts, on a quarter hour."""
    scan_type = _scan_type(rng)
    lead = timedelta(hours=rng.choice((24, 24, 1)))
    starts_at = _minute(now + lead)
    starts_at += timedelta(minutes=(15 - starts_at.minute % 15) % 15)
    return ScheduledScan(
        name=_scan_name(rng, scan_type),
        type=scan_type,
        starts_at=starts_at,
        link=f"{_BASE_URL}/scans/schedules/view/{rng.randint(1, 400)}",
    )


def finished_scan(rng: random.Random, now: datetime) -> FinishedScan:
    """A scan that finished a few minutes before ``now``."""
    scan_type = _scan_type(rng)
    if scan_type == "network":
        minutes = rng.randint(6, 45) if rng.random() < 0.6 else rng.randint(46, 6 * 60)
    else:
        minutes = rng.randint(20, 4 * 60) if rng.random() < 0.85 else rng.randint(4 * 60, 30 * 60)
    finished = _minute(now - timedelta(minutes=rng.randint(0, 10)))
    started = finished - timedelta(minutes=minutes)
    roll = rng.random()
    if roll < 0.03:
        status, errors = "Aborted", [rng.choice(_ABORTED_ERRORS)]
    elif roll < 0.15:
        status, errors = "Completed", rng.sample(_SCAN_ERRORS, k=rng.randint(1, 3))
    else:
        status, errors = "Completed", []
    return FinishedScan(
        name=_scan_name(rng, scan_type),
        type=scan_type,
        started=started,
        finished=finished,
        duration=format_duration(finished - started),
        status=status,
        errors="\n\n".join(errors),
        critical_cnt=_count(rng, 0.12, 1.5),
        high_cnt=_count(rng, 0.45, 4),
        medium_cnt=_count(rng, 0.85, 14),
        low_cnt=_count(rng, 0.9, 25),
        link=f"{_BASE_URL}/scans/scans/view/{rng.randint(100, 99_999)}",
    )


def ticket(rng: random.Random, now: datetime, *, closed: bool | None = None) -> Ticket:
    """A ticket opened (or closed) today; ``closed=None`` picks either, opened a bit more often."""
    if closed is None:
        closed = rng.random() < 0.45
    severity = _weighted(rng, SEVERITY_WEIGHTS)
    asset_id = rng.randint(1, 20_000)
    opened_on: date = now.date()
    if closed:
        opened_on -= timedelta(days=rng.randint(1, DUE_DAYS[severity]))
        status = rng.choices(
            ("Closed (Fixed)", "Closed (Accepted risk)", "Closed (False positive)"),
            weights=(90, 6, 4),
        )[0]
    else:
        status = "Open"
    return Ticket(
        number=rng.randint(1_000, 99_999),
        status=status,
        severity=severity,
        vulnerability_name=rng.choice(_VULNERABILITIES[severity]),
        asset_name=_asset_name(rng),
        asset_link=f"{_BASE_URL}/assets/view/{asset_id}",
        due_date=opened_on + timedelta(days=DUE_DAYS[severity]),
        owner=_owner(rng),
    )


def sample(
    event_type_or_key: str, rng: random.Random, *, now: datetime | None = None
) -> Notification:
    """One notification of ``event_type_or_key``.

    ``scheduled_scan``, ``finished_scan``, ``ticket.opened``, ``ticket.closed``, or ``ticket``
    (opened or closed). ``now`` (default: the current time) is when the event happens.
    """
    moment = _minute(now if now is not None else datetime.now(UTC))
    if event_type_or_key == "scheduled_scan":
        return scheduled_scan(rng, moment)
    if event_type_or_key == "finished_scan":
        return finished_scan(rng, moment)
    if event_type_or_key in ("ticket", "ticket.opened", "ticket.closed"):
        closed = None if event_type_or_key == "ticket" else event_type_or_key == "ticket.closed"
        return ticket(rng, moment, closed=closed)
    raise ValueError(
        f"unknown notification type {event_type_or_key!r}: expected one of "
        + ", ".join(SAMPLE_KINDS[:5])
    )


def samples(
    kind: str, count: int, seed: int | None = None, *, now: datetime | None = None
) -> list[Notification]:
    """``count`` notifications of ``kind`` (one of :data:`SAMPLE_KINDS`).

    The same ``seed`` gives the same notifications; without ``now``, seeded samples are anchored
    at :data:`SEED_NOW` and unseeded ones at the current time. Successive notifications are a
    few minutes apart, oldest first.
    """
    if kind not in SAMPLE_KINDS:
        expected = ", ".join(SAMPLE_KINDS)
        raise ValueError(f"unknown sample kind {kind!r}: expected one of {expected}")
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    rng = random.Random(seed)
    if now is None:
        now = SEED_NOW if seed is not None else datetime.now(UTC)
    moments = sorted(now - timedelta(minutes=rng.randint(0, 3 * count)) for _ in range(count))
    result: list[Notification] = []
    for index, moment in enumerate(moments):
        if kind == "all":
            which: str = EVENT_TYPES[index % len(EVENT_TYPES)]
        elif kind == "mixed":
            which = _weighted(rng, _MIXED_WEIGHTS)
        else:
            which = kind
        result.append(sample(which, rng, now=moment))
    return result
