"""Numbers a person reads: SOL, token amounts, percentages, ages, and endpoints without keys.

Amounts arrive as ``int`` (lamports, token base units) and are written exactly, from
``divmod`` of the integer, never through a float: a dashboard, a log line and a JSON
report can then never disagree in the last decimal. Floats appear only for what is a
ratio anyway (prices, percentages), and only here, for display.

:func:`mask_url` hides the API key an RPC provider puts in its URL (Helius
``?api-key=…``, QuickNode ``/…/<token>/``, ``user:password@``): the banner and every log
line show endpoints through it (``ui.logs`` masks any URL found in a log message).
"""

from __future__ import annotations

import re
from fractions import Fraction
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LAMPORTS_PER_SOL = 1_000_000_000
MASK = "***"

#: query parameters that carry a credential (compared lower-case, ``-``/``_`` ignored)
SECRET_PARAMS = frozenset(
    {"apikey", "key", "token", "accesstoken", "auth", "authorization", "secret", "password"}
)
#: a path segment this long made only of key-ish characters, with letters and digits
_KEYISH = re.compile(r"[A-Za-z0-9_\-]{16,}")
#: a URL in prose: up to a blank, a quote, a bracket, ``,`` or ``;`` (not a final ``.``/``:``)
_URL = re.compile(r"\b(?:https?|wss?)://[^\s'\"<>()\[\],;]*[^\s'\"<>()\[\],;.:]")


def format_sol(lamports: int | None, *, signed: bool = False) -> str:
    """``1_500_000_000`` → ``"1.500000000"`` (``+`` prefix with ``signed``), ``None`` → ``-``."""
    if lamports is None:
        return "-"
    sign = "-" if lamports < 0 else ("+" if signed else "")
    whole, frac = divmod(abs(lamports), LAMPORTS_PER_SOL)
    return f"{sign}{whole}.{frac:09d}"


def sol(lamports: int | None, *, signed: bool = False) -> str:
    """Lamports as SOL for a person: exact, trailing zeros dropped (at least two decimals).

    ``50_000_000`` → ``"0.05 SOL"``, ``-5_000`` → ``"-0.000005 SOL"``, ``None`` → ``"-"``.
    """
    if lamports is None:
        return "-"
    text = format_sol(lamports, signed=signed)
    whole, frac = text.split(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')} SOL"


def quote(units: int | None, symbol: str, *, decimals: int = 6, signed: bool = False) -> str:
    """Base units of a quote token for a person, exact: ``1_500_000, "USDC"`` →
    ``"1.50 USDC"`` (trailing zeros dropped, at least two decimals); ``None`` → ``"-"``."""
    if units is None:
        return "-"
    sign = "-" if units < 0 else ("+" if signed else "")
    whole, frac = divmod(abs(units), 10**decimals)
    digits = f"{frac:0{decimals}d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{digits} {symbol}"


def tokens(amount: int | None, decimals: int) -> str:
    """Base units as whole tokens with the mint's decimals, exact: ``1_234_567_890, 6`` →
    ``"1,234.56789"``; ``None`` → ``"-"``."""
    if amount is None:
        return "-"
    sign = "-" if amount < 0 else ""
    if decimals <= 0:
        return f"{sign}{abs(amount):,}"
    whole, frac = divmod(abs(amount), 10**decimals)
    digits = f"{frac:0{decimals}d}".rstrip("0")
    return f"{sign}{whole:,}" + (f".{digits}" if digits else "")


def pnl(lamports: int | None, cost: int | None) -> str:
    """``"+0.012 SOL (+24.0 %)"``: a PnL in SOL and as a percentage of ``cost``."""
    if lamports is None:
        return "unknown"
    text = sol(lamports, signed=True)
    if cost:
        text += f" ({pct(100.0 * lamports / cost)})"
    return text


def pct(value: float | None, *, signed: bool = True) -> str:
    """``12.345`` → ``"+12.3 %"``; ``None`` → ``"-"``."""
    if value is None:
        return "-"
    return f"{value:+.1f} %" if signed else f"{value:.1f} %"


def price(lamports_per_base_unit: Fraction | float | None, decimals: int) -> str:
    """A curve price as SOL per whole token, four significant digits (``"2.796e-08"``)."""
    if lamports_per_base_unit is None:
        return "-"
    value = float(lamports_per_base_unit) * 10**decimals / LAMPORTS_PER_SOL
    return f"{value:.4g}"


def age(seconds: float | None) -> str:
    """``4.25`` → ``"4.2s"``, ``75`` → ``"1m15s"``, ``3725`` → ``"1h02m"``; ``None`` → ``-``."""
    if seconds is None:
        return "-"
    if seconds < 0:
        seconds = 0.0
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# --------------------------------------------------------------------------- secrets


def _secret_param(name: str) -> bool:
    plain = name.lower().replace("-", "").replace("_", "")
    return plain in SECRET_PARAMS or plain.endswith(("key", "token", "secret"))


def _keyish(segment: str) -> bool:
    """A path segment that looks like a credential rather than a route (``v1``, ``rpc``)."""
    return bool(
        _KEYISH.fullmatch(segment) and re.search(r"\d", segment) and re.search(r"[A-Za-z]", segment)
    )


def mask_url(url: str) -> str:
    """``url`` with every credential replaced by ``***``: the password (or the user of a
    ``user@`` form), secret query values, and key-like path segments. Not a URL → as is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    path = "/".join(MASK if _keyish(s) else s for s in parts.path.split("/"))
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, MASK if _secret_param(k) or _keyish(v) else v) for k, v in pairs]
        query = urlencode(masked, safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def mask_urls_in(text: str) -> str:
    """Every URL inside ``text`` through :func:`mask_url` (for log messages)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: mask_url(m.group(0)), text)
