"""Where the log goes and in which shape: a text stream, a file, JSON lines; never a key.

:func:`setup_logging` is called once by the command line. The destinations:

* the terminal (stderr) — unless the live dashboard owns the terminal, in which case the
  log goes to a file (``--log-file``, else :data:`DEFAULT_DASHBOARD_LOG`);
* ``--log-file FILE`` — in addition to the terminal when there is no dashboard;
* ``--log-json`` — every destination writes one JSON object per record instead of text.

Every message is passed through :func:`ui.format.mask_urls_in` so an RPC endpoint's API key
(which the RPC client names when it fails over or retries) is never written out.

JSON records carry ``mint``, ``position_id``, ``signature``, ``state`` (and ``side``) when
the record has them. They come, in this order, from ``extra=`` of the log call (the
monitor's position lines pass them), then from the arguments of the trading, listener
and confirmation loggers (whose arguments name tokens, never the wallet) by their shape:
a ``Pubkey`` or a 32–44-character base58 string is the mint, an 87–88-character base58
string is a signature, an ``OrderState`` is a state; an order's transition line
(``"buy <mint> attempt 1: SENT → CONFIRMED …"``) gives its state and side from its words.
Inferring from the arguments keeps the trading layer's log calls plain ``%s`` calls, as
they are everywhere else, while every order and position line still carries its keys.

Embedded use (tests, another application): when the root logger already has handlers and
neither a file nor JSON is asked for, nothing is installed, as ``logging.basicConfig``
would do.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from trio_trader.ui.format import mask_urls_in

#: where the log goes when the dashboard holds the terminal and no --log-file is given
DEFAULT_DASHBOARD_LOG = Path("trio-trader.log")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: the keys a JSON record may carry besides time, level, logger and message
FIELDS = ("mint", "position_id", "signature", "state", "side")
#: loggers whose arguments name tokens (never the wallet): the keys are read from them
INFERRED_FROM = ("trio_trader.trading.", "trio_trader.listeners.", "trio_trader.chain.confirm")
#: loggers whose every-request lines drown the bot's own story (back with -vv)
NOISY = ("httpx", "httpcore", "hypercorn.access")

_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_ORDER_LINE = re.compile(r"^(buy|sell) \S+ attempt \d+: .*?(PENDING|SENT|CONFIRMED|FAILED)\b")
_LAST_STATE = re.compile(r".*\b(PENDING|SENT|CONFIRMED|FAILED)\b")
_OURS = "_trio_trader_handler"
_BEFORE_DASHBOARD = "_trio_trader_before_dashboard"


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured keys of ``record`` (see the module docstring); absent ones left out."""
    found: dict[str, Any] = {}
    for name in FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            found[name] = _plain(value)
    if record.name.startswith(INFERRED_FROM):
        for arg in record.args if isinstance(record.args, tuple) else ():
            _from_arg(arg, found)
    message = record.getMessage()
    order_line = _ORDER_LINE.match(message)
    last_state = _LAST_STATE.match(message)  # greedy: the last state word of the line
    if order_line is not None and last_state is not None:
        found.setdefault("side", order_line[1])
        found.setdefault("state", last_state[1].lower())
    return found


def _from_arg(arg: object, found: dict[str, Any]) -> None:
    from solders.pubkey import Pubkey

    if isinstance(arg, Pubkey):
        found.setdefault("mint", str(arg))
    elif isinstance(arg, enum.Enum) and type(arg).__name__ == "OrderState":
        found.setdefault("state", str(arg.value))
    elif isinstance(arg, str) and _BASE58.fullmatch(arg):
        if 32 <= len(arg) <= 44:
            found.setdefault("mint", arg)
        elif 86 <= len(arg) <= 88:
            found.setdefault("signature", arg)


def _plain(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


class TextFormatter(logging.Formatter):
    """The usual text line, with URLs' credentials masked (traceback included)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return mask_urls_in(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``time``, ``level``, ``logger``, ``message``, the
    keys of :func:`record_fields`, and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 6),
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_urls_in(record.getMessage()),
            **record_fields(record),
        }
        if record.exc_info:
            out["exc"] = mask_urls_in(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def setup_logging(
    *,
    verbose: int = 0,
    log_file: Path | None = None,
    json_lines: bool = False,
    dashboard: bool = False,
    stream: TextIO | None = None,
) -> Path | None:
    """Install the handlers (replacing the ones a previous call installed).

    Returns:
        The file the log is written to, if any (the dashboard says where its log went).
    Raises:
        OSError: the log file cannot be opened.
    """
    reset_logging()
    root = logging.getLogger()
    if dashboard and log_file is None:
        log_file = DEFAULT_DASHBOARD_LOG
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.NOTSET)
    foreign = bool(root.handlers)
    if foreign and log_file is None and not json_lines:
        return None  # embedded: the host's handlers decide (as logging.basicConfig does)
    formatter: logging.Formatter = JsonFormatter() if json_lines else TextFormatter()
    handlers: list[logging.Handler] = []
    if not dashboard and (not foreign or (json_lines and log_file is None)):
        handlers.append(logging.StreamHandler(stream or sys.stderr))
    elif dashboard and not foreign:
        # until the dashboard is up (start-up may wait for an endpoint), warnings still
        # reach the terminal; the dashboard takes this handler away when it starts
        early = logging.StreamHandler(stream or sys.stderr)
        early.setLevel(logging.WARNING)
        setattr(early, _BEFORE_DASHBOARD, True)
        handlers.append(early)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        setattr(handler, _OURS, True)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return log_file


def reset_logging() -> None:
    """Remove (and close) the handlers :func:`setup_logging` installed."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()


def hand_terminal_to_dashboard() -> None:
    """Remove the terminal's warning handler of a dashboard run (the dashboard shows them)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _BEFORE_DASHBOARD, False)]:
        root.removeHandler(handler)
        handler.close()
