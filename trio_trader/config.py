"""The bot's configuration: an attrs tree loaded from TOML plus secrets from the environment.

Why this shape:

* One private :class:`cattrs.Converter` with ``forbid_extra_keys`` turns the TOML tables
  into frozen attrs classes, so a misspelt key is an error instead of a silently ignored
  option (a typo in ``stop_loss_pct`` must never mean "no stop loss").
* Scalars are structured strictly: ``"5"`` is not an int and ``1.5`` is not silently
  truncated to ``1``.
* Amounts of SOL are written in SOL (``"0.01"`` or ``0.01``) and held as integer
  lamports (:class:`SolAmount`); floats never reach money arithmetic.
* Range checks live in field metadata and are walked after structuring, so every error
  names the full key: ``ConfigError("exits.take_profit_pct: must be > 0")``.
* The private key is read from an environment variable only and wrapped in
  :class:`Secret`, whose ``repr`` never shows it; a ``private_key`` in the file is refused.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
import cattrs.errors

__all__ = [
    "Config",
    "ConfigError",
    "DbConfig",
    "ExitsConfig",
    "FiltersConfig",
    "LatencyConfig",
    "ListenerConfig",
    "PriorityFeeConfig",
    "RpcConfig",
    "Secret",
    "SolAmount",
    "TradeConfig",
    "UsdcAmount",
    "WalletConfig",
    "load_config",
    "parse_config",
    "priority_fee_lamports",
    "require_exit_rule",
]

LAMPORTS_PER_SOL = 1_000_000_000
DEFAULT_PRIVATE_KEY_ENV = "TRIO_TRADER_PRIVATE_KEY"
#: Solana's compute-unit limit of one transaction
MAX_COMPUTE_UNIT_LIMIT = 1_400_000
#: the ``[exits]`` keys of which at least one must be set (or ``never_sell = true``)
EXIT_RULES = (
    "take_profit_pct",
    "stop_loss_pct",
    "trailing_stop_pct",
    "max_hold_time",
    "sell_after",
)


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the offending key."""


#: the largest amount a u64 holds: every amount the chain takes is a u64 (lamports, units)
U64_MAX = 2**64 - 1
#: more SOL than exists (~600M SOL): a config amount above this is a typo, never a plan
MAX_SOL_AMOUNT = 1_000_000_000
#: USDC has 6 decimals; a config amount above a billion USDC is a typo, never a plan
USDC_DECIMALS = 6
MAX_USDC_AMOUNT = 1_000_000_000
#: the quote mints a coin may be traded in (``trade.quote_mints``); any other is skipped
QUOTE_MINTS = ("SOL", "USDC")
_DECIMAL = re.compile(r"(\d+)(?:\.(\d*))?|\.(\d+)")


def _parse_decimal(
    value: object, *, unit: str, decimals: int, base: str, maximum: int, too_much: str
) -> int:
    """``value`` (a plain decimal string or number of ``unit``) in base units, exactly.

    Refuses a sign, an exponent, ``inf``/``nan``, more than ``decimals`` decimals, and more
    than ``maximum`` whole ``unit``; no binary float or decimal context ever rounds it.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f'expected {unit} as a string like "0.01" or a number')
    # repr() of a float is the shortest string that round-trips: what the user typed.
    text = value.strip() if isinstance(value, str) else repr(value)
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError(
            f'not a decimal amount of {unit}: {value!r} (write it like "0.01": no sign, '
            "no exponent)"
        )
    whole, fraction = match[1] or "0", match[2] if match[1] else match[3]
    fraction = (fraction or "").rstrip("0")
    if len(fraction) > decimals:
        raise ValueError(f"{value!r} {unit} is not a whole number of {base}")
    one: int = 10**decimals
    if len(whole.lstrip("0")) > len(str(maximum)) or int(whole) > maximum:
        raise ValueError(f"{value!r} {unit} is {too_much} (max {maximum})")
    units = int(whole) * one + int(fraction.ljust(decimals, "0"))
    if units > maximum * one:
        raise ValueError(f"{value!r} {unit} is {too_much} (max {maximum})")
    return units


class SolAmount(int):
    """An amount written in SOL in the config file, held as integer lamports.

    Only plain decimals are accepted (``"0.01"``, ``0.01``, ``1``): an exponent (``"1e30"``,
    a float written ``1e-05``), a sign, ``inf``/``nan`` or more than 9 decimals are refused,
    and so is anything above :data:`MAX_SOL_AMOUNT` SOL. The digits are converted exactly
    (no binary float, no decimal context rounding).
    """

    __slots__ = ()

    @classmethod
    def parse(cls, value: object) -> SolAmount:
        """Parse ``"0.01"``, ``0.01`` or ``1`` (SOL) into lamports; refuse anything else."""
        return cls(
            _parse_decimal(
                value, unit="SOL", decimals=9, base="lamports", maximum=MAX_SOL_AMOUNT,
                too_much="more SOL than exists",
            )
        )  # fmt: skip

    @property
    def sol(self) -> Decimal:
        """The amount in SOL, for display."""
        return Decimal(int(self)) / LAMPORTS_PER_SOL


class UsdcAmount(int):
    """An amount written in USDC in the config file (``"2.5"``, ``2.5``, ``10``), held as
    integer base units (6 decimals): the same plain decimals as :class:`SolAmount`, at
    most 6 decimals and :data:`MAX_USDC_AMOUNT` USDC."""

    __slots__ = ()

    @classmethod
    def parse(cls, value: object) -> UsdcAmount:
        """Parse ``"2.5"``, ``2.5`` or ``10`` (USDC) into base units; refuse anything else."""
        return cls(
            _parse_decimal(
                value, unit="USDC", decimals=USDC_DECIMALS, base="USDC base units (6 "
                "decimals)", maximum=MAX_USDC_AMOUNT, too_much="more than a bot should spend",
            )
        )  # fmt: skip

    @property
    def usdc(self) -> Decimal:
        """The amount in USDC, for display."""
        return Decimal(int(self)) / Decimal(10) ** USDC_DECIMALS


@attrs.frozen(repr=False)
class Secret:
    """A secret string that never shows in ``repr``/``str`` (and so never in logs)."""

    _value: str

    def reveal(self) -> str:
        """The secret itself: call only where it is used, never to log."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


# --- range checks, attached to fields through metadata ---------------------------------

Check = Callable[[Any], str | None]


def _positive(value: Any) -> str | None:
    return None if value is None or value > 0 else "must be > 0"


def _non_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must be >= 0"


def _off_or_from_half(value: Any) -> str | None:
    return None if value == 0 or value >= 0.5 else "must be 0 (off) or at least 0.5"


def _bps(value: Any) -> str | None:
    return None if 0 <= value <= 10_000 else "must be between 0 and 10000"


def _pct_below_100(value: Any) -> str | None:
    return None if value is None or 0 < value < 100 else "must be > 0 and < 100"


def _percentile(value: Any) -> str | None:
    return None if 0 <= value <= 100 else "must be between 0 and 100"


def _u64(value: Any) -> str | None:
    return None if value is None or value <= U64_MAX else f"must be <= {U64_MAX} (a u64)"


def _at_most(limit: int, why: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value is None or value <= limit else f"must be <= {limit} ({why})"

    return check


def _non_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


def _regex(value: Any) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None


def _http_urls(value: Any) -> str | None:
    from trio_trader.chain.sender import parse_endpoint

    for item in value:
        try:
            parse_endpoint(item)
        except (TypeError, ValueError) as exc:
            return f"not an http(s) URL: {item!r} ({exc})"
    return None


def _pubkeys(value: Any) -> str | None:
    from solders.pubkey import Pubkey

    for item in value:
        try:
            Pubkey.from_string(item)
        except ValueError:
            return f"not a base58 public key: {item!r}"
    return None


def _field(default: Any, *checks: Check, factory: bool = False) -> Any:
    """An attrs field with range checks run by :func:`_validate` (which knows the key path)."""
    metadata = {"checks": checks}
    if factory:
        return attrs.field(factory=default, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


# --- the tree ----------------------------------------------------------------------------


@attrs.frozen
class RpcConfig:
    """Where the chain is: JSON-RPC endpoints (fail over in order) and the WebSocket URL."""

    endpoints: list[str] = _field(  # noqa: RUF009 (attrs field helper)
        lambda: ["https://api.mainnet-beta.solana.com"], _non_empty, factory=True
    )
    ws_url: str = "wss://api.mainnet-beta.solana.com"
    #: sendTransaction goes to all of these at once (first acceptance wins); empty: to the
    #: current one of `endpoints`, with its fail-over
    send_endpoints: list[str] = _field(list, _http_urls, factory=True)  # noqa: RUF009
    requests_per_second: float | None = _field(None, _positive)
    max_retries: int = _field(5, _non_negative)


@attrs.frozen
class WalletConfig:
    """Where the signing key comes from: a keypair JSON file or an environment variable."""

    keypair_file: str | None = None
    private_key_env: str = DEFAULT_PRIVATE_KEY_ENV
    # Filled from the environment by the loader; never from the file.
    private_key: Secret | None = attrs.field(default=None, repr=False)


@attrs.frozen
class PriorityFeeConfig:
    """Compute-unit price: fixed, or a percentile of recent fees capped at ``cap``."""

    mode: Literal["fixed", "dynamic"] = "fixed"
    fixed_micro_lamports: int = _field(100_000, _non_negative, _u64)
    percentile: int = _field(75, _percentile)
    cap_micro_lamports: int = _field(2_000_000, _non_negative, _u64)


@attrs.frozen
class TradeConfig:
    """How much to buy, how to price orders and how hard to try to get out."""

    buy_amount_sol: SolAmount = _field(SolAmount(10_000_000), _positive)  # noqa: RUF009 (attrs field helper)
    max_buy_sol: SolAmount = _field(SolAmount(LAMPORTS_PER_SOL), _positive)  # noqa: RUF009 (attrs field helper)
    buy_slippage_bps: int = _field(1_500, _bps)
    sell_slippage_bps: int = _field(1_500, _bps)
    compute_unit_limit: int = _field(
        120_000, _positive, _at_most(MAX_COMPUTE_UNIT_LIMIT, "Solana's limit per transaction")
    )
    #: "measured": each transaction kind's measured limit (trading/compute.py);
    #: "fixed": compute_unit_limit for every transaction
    compute_units: Literal["measured", "fixed"] = "measured"
    #: the bonding-curve instructions: "legacy" (buy/sell) or "v2" (buy_v2/sell_v2)
    instructions: Literal["legacy", "v2"] = "legacy"
    #: the quote mints whose coins are bought: "SOL", and "USDC" (needs instructions = "v2")
    quote_mints: list[Literal["SOL", "USDC"]] = _field(  # noqa: RUF009 (attrs field helper)
        lambda: ["SOL"], _non_empty, factory=True
    )
    #: what one BUY of a USDC-quoted coin spends (pump fees included), in USDC
    buy_amount_usdc: UsdcAmount = _field(UsdcAmount(1_000_000), _positive)  # noqa: RUF009 (attrs field helper)
    #: the most one BUY of a USDC-quoted coin may cost before its slippage, in USDC
    max_buy_usdc: UsdcAmount = _field(UsdcAmount(100_000_000), _positive)  # noqa: RUF009 (attrs field helper)
    extreme_fast_mode: bool = False
    extreme_fast_token_amount: int = _field(0, _non_negative, _u64)
    pre_confirmation_sells: bool = True
    max_active_mints: int = _field(3, _positive)
    max_buys: int = _field(0, _non_negative)
    rebroadcast_interval: float = _field(0.5, _positive)
    max_sell_attempts: int = _field(5, _positive)
    sell_reprice_step_bps: int = _field(1_000, _bps)
    emergency_policy: Literal["zero_min_output", "leave_open"] = "zero_min_output"
    close_token_account: bool = True
    adopt_orphans: bool = False


@attrs.frozen
class ListenerConfig:
    """Which stream detects new tokens and carries trade prices."""

    source: Literal["logs", "block"] = "logs"
    commitment: Literal["processed", "confirmed"] = "processed"


@attrs.frozen
class FiltersConfig:
    """Which new tokens are worth buying. Empty lists and ``None`` mean "no restriction"."""

    name_contains: list[str] = attrs.field(factory=list)
    symbol_contains: list[str] = attrs.field(factory=list)
    name_regex: str | None = _field(None, _regex)
    symbol_regex: str | None = _field(None, _regex)
    creator_allow: list[str] = _field(list, _pubkeys, factory=True)  # noqa: RUF009 (attrs field helper)
    creator_deny: list[str] = _field(list, _pubkeys, factory=True)  # noqa: RUF009 (attrs field helper)
    min_creator_buy_sol: SolAmount | None = None
    max_creator_buy_sol: SolAmount | None = None
    max_token_age: float | None = _field(None, _non_negative)


@attrs.frozen
class ExitsConfig:
    """When to sell. Every rule is optional; the first one that fires sells everything."""

    take_profit_pct: float | None = _field(None, _positive)
    stop_loss_pct: float | None = _field(None, _pct_below_100)
    trailing_stop_pct: float | None = _field(None, _pct_below_100)
    max_hold_time: float | None = _field(None, _non_negative)
    sell_after: float | None = _field(None, _non_negative)
    never_sell: bool = False
    tick_interval: float = _field(1.0, _positive)


@attrs.frozen
class LatencyConfig:
    """Trade CPU for latency (``trading/spin.py``, ``trading/rehearsal.py``); off by default.

    ``spin``: the event loop polls its sockets instead of sleeping, so a notification is
    read without a kernel wake-up of the process; costs a whole core while the bot runs.
    ``rehearse_ms``: every this many ms, the last create is decoded again and a BUY of it
    built and signed by a throwaway key (never sent), keeping that path in the CPU's
    caches; 0 (the default) is off.
    """

    spin: bool = False
    rehearse_ms: float = _field(0.0, _off_or_from_half)


@attrs.frozen
class DbConfig:
    """Where positions and trades are stored (SQLite)."""

    path: str = "trio_trader.db"


@attrs.frozen
class Config:
    """The whole configuration tree (one TOML table per section)."""

    rpc: RpcConfig = attrs.field(factory=RpcConfig)
    wallet: WalletConfig = attrs.field(factory=WalletConfig)
    priority_fee: PriorityFeeConfig = attrs.field(factory=PriorityFeeConfig)
    trade: TradeConfig = attrs.field(factory=TradeConfig)
    listener: ListenerConfig = attrs.field(factory=ListenerConfig)
    filters: FiltersConfig = attrs.field(factory=FiltersConfig)
    exits: ExitsConfig = attrs.field(factory=ExitsConfig)
    db: DbConfig = attrs.field(factory=DbConfig)
    latency: LatencyConfig = attrs.field(factory=LatencyConfig)


# --- loading -------------------------------------------------------------------------------


def _strict(kind: type, name: str) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise ValueError(f"expected {name}, got a boolean")
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise ValueError(f"expected {name}, got {type(value).__name__} {value!r}")
        return value

    return hook


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(float, _strict(float, "a number"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(SolAmount, lambda v, _: SolAmount.parse(v))
    converter.register_structure_hook(UsdcAmount, lambda v, _: UsdcAmount.parse(v))
    return converter


_CONVERTER = _make_converter()


_EXTRA = "\x00extra:"


def _format_error(exc: BaseException, _type: type | None) -> str:
    if isinstance(exc, KeyError):
        return "required key missing"
    if isinstance(exc, cattrs.errors.ForbiddenExtraKeysError):
        return _EXTRA + ",".join(sorted(exc.extra_fields))
    return str(exc) or type(exc).__name__


def _readable(exc: Exception) -> str:
    """Turn cattrs' ``"msg @ $.a.b"`` lines into ``"a.b: msg"`` lines."""
    lines = []
    for line in cattrs.transform_error(exc, format_exception=_format_error):
        message, _, path = line.rpartition(" @ ")
        key = path.removeprefix("$").removeprefix(".") or "(top level)"
        if message.startswith(_EXTRA):
            for name in message.removeprefix(_EXTRA).split(","):
                lines.append(f"{key + '.' if key != '(top level)' else ''}{name}: unknown key")
            continue
        lines.append(f"{key}: {message}")
    return "; ".join(lines)


def _validate(obj: Any, prefix: str = "") -> None:
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        key = f"{prefix}{field.name}"
        for check in field.metadata.get("checks", ()):
            problem = check(value)
            if problem:
                raise ConfigError(f"{key}: {problem}")
        if attrs.has(type(value)) and not isinstance(value, Secret):
            _validate(value, f"{key}.")


def _cross_checks(config: Config) -> None:
    trade, filters = config.trade, config.filters
    if trade.extreme_fast_mode and trade.extreme_fast_token_amount <= 0:
        raise ConfigError(
            "trade.extreme_fast_token_amount: must be > 0 when trade.extreme_fast_mode is on"
        )
    low, high = filters.min_creator_buy_sol, filters.max_creator_buy_sol
    if low is not None and high is not None and low > high:
        raise ConfigError("filters.min_creator_buy_sol: must be <= filters.max_creator_buy_sol")
    if trade.buy_amount_sol > trade.max_buy_sol:
        raise ConfigError(
            f"trade.buy_amount_sol: {trade.buy_amount_sol.sol} SOL is above trade.max_buy_sol "
            f"({trade.max_buy_sol.sol} SOL); lower it, or raise trade.max_buy_sol on purpose"
        )
    _quote_checks(trade)
    fee = priority_fee_lamports(config)
    if fee > trade.max_buy_sol:
        raise ConfigError(
            f"priority_fee: {fee / LAMPORTS_PER_SOL} SOL per transaction "
            f"(trade.compute_unit_limit × the fee per compute unit) is above trade.max_buy_sol"
        )


def _quote_checks(trade: TradeConfig) -> None:
    """USDC coins trade only with the v2 instructions; their budget fits their cap."""
    if "USDC" in trade.quote_mints and trade.instructions != "v2":
        raise ConfigError(
            'trade.quote_mints: "USDC" needs trade.instructions = "v2" (the legacy buy/sell '
            "cannot trade a coin quoted in USDC); set it, or remove USDC from the list"
        )
    if trade.buy_amount_usdc > trade.max_buy_usdc:
        raise ConfigError(
            f"trade.buy_amount_usdc: {trade.buy_amount_usdc.usdc} USDC is above "
            f"trade.max_buy_usdc ({trade.max_buy_usdc.usdc} USDC); lower it, or raise "
            "trade.max_buy_usdc on purpose"
        )


def priority_fee_lamports(config: Config) -> int:
    """The most priority fee one transaction can pay: compute-unit limit × price (ceil)."""
    pf = config.priority_fee
    price = pf.fixed_micro_lamports if pf.mode == "fixed" else pf.cap_micro_lamports
    return -(-config.trade.compute_unit_limit * price // 1_000_000)


def require_exit_rule(config: Config) -> None:
    """Refuse a config that would buy and never sell: no exit rule and no ``never_sell``.

    Checked when the bot starts trading (not by :func:`parse_config`, so tools and tests
    can build partial configs).

    Raises:
        ConfigError: naming the keys of which one must be set.
    """
    exits = config.exits
    if exits.never_sell or any(getattr(exits, name) is not None for name in EXIT_RULES):
        return
    raise ConfigError(
        "exits: no exit rule is set, so every position would be bought and never sold: set "
        f"one of {', '.join('exits.' + n for n in EXIT_RULES)}, or exits.never_sell = true "
        "to hold positions on purpose"
    )


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML data and the environment.

    Raises:
        ConfigError: naming the first bad key (or all structural errors, joined by ``;``).
    """
    env = os.environ if env is None else env
    wallet = data.get("wallet")
    if isinstance(wallet, Mapping) and "private_key" in wallet:
        raise ConfigError(
            "wallet.private_key: secrets are not read from the file; "
            "set the environment variable named by wallet.private_key_env"
        )
    try:
        config = _CONVERTER.structure(dict(data), Config)
    except Exception as exc:  # cattrs raises ClassValidationError / ExceptionGroups
        raise ConfigError(_readable(exc)) from None
    _validate(config)
    _cross_checks(config)
    secret = env.get(config.wallet.private_key_env)
    if secret:
        config = attrs.evolve(
            config, wallet=attrs.evolve(config.wallet, private_key=Secret(secret.strip()))
        )
    return config


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read a TOML file into a :class:`Config` (see ``config.example.toml``).

    Raises:
        ConfigError: the file is missing, is not TOML, or holds a bad key or value.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, env)
