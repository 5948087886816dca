"""Market scenarios: what the simulated pump.fun market does, as data.

A scenario is a TOML file (``sim/scenarios/*.toml``) that a person writes and a test or a
demo picks by name. It says how fast creators launch tokens, how the traders on each token
behave (a *profile* per token: steady random walk, pump-then-dump, instant rug, a whale
that completes the curve), how many wallets the market funds, which priority fees they pay
and which faults the node shows. The market (``sim/market.py``) only reads these values;
every random draw it makes comes from the run's seed, so a scenario plus a seed is one
reproducible market.

Amounts of SOL are written in SOL in the file (``0.25``) because that is how people think
about them, and become integer lamports on load (``Lamports``), checked to be exact: a
value with more than nine decimals is an error, not a silent rounding.

Input comes from a person, so the loader is strict: unknown keys, wrong types (``"40"``
for a count, ``1.5`` for an integer) and impossible ranges raise :class:`ScenarioError`
with the dotted path of every offending key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Literal, NewType, TypeVar

import attrs
import cattrs
import cattrs.v

from trio_trader.sim.faults import Faults

__all__ = [
    "FaultSettings",
    "Graduation",
    "Lamports",
    "Launches",
    "PriorityFees",
    "Profile",
    "ProfileKind",
    "Range",
    "Scenario",
    "ScenarioError",
    "Wallets",
    "list_scenarios",
    "load_scenario",
    "parse_fault_settings",
    "parse_scenario",
]

LAMPORTS_PER_SOL = 1_000_000_000

Lamports = NewType("Lamports", int)
"""An amount written in SOL in the scenario file, held as integer lamports."""

T = TypeVar("T", bound=float)

ProfileKind = Literal["random_walk", "pump_dump", "instant_rug", "curve_complete"]


class ScenarioError(ValueError):
    """A scenario file is missing, is not TOML, or does not describe a valid scenario."""


def _probability(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within 0..1, got {value}")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


@attrs.frozen
class Range(Generic[T]):
    """Inclusive bounds ``{ min = …, max = … }`` for a uniformly drawn value."""

    min: T
    max: T

    def __attrs_post_init__(self) -> None:
        if self.min < 0:
            raise ValueError(f"min must be >= 0, got {self.min}")
        if self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")


@attrs.frozen
class Wallets:
    """The market's own wallets, airdropped at start.

    Creators launch tokens (and dump them in rug/dump profiles), traders trade, whales
    buy out curves in ``curve_complete`` profiles (a whole curve costs ≈ 86 SOL with fees).
    """

    creators: int = attrs.field(default=4, validator=_non_negative)
    traders: int = attrs.field(default=16, validator=_non_negative)
    whales: int = attrs.field(default=0, validator=_non_negative)
    creator_funding_sol: Lamports = attrs.field(
        default=Lamports(100 * LAMPORTS_PER_SOL), validator=_positive
    )
    trader_funding_sol: Lamports = attrs.field(
        default=Lamports(100 * LAMPORTS_PER_SOL), validator=_positive
    )
    whale_funding_sol: Lamports = attrs.field(
        default=Lamports(500 * LAMPORTS_PER_SOL), validator=_positive
    )
    #: USDC base units (6 decimals) minted to every wallet the run funds besides the
    #: market's (the bot's, ``open_sim(fund=…)``), so it can buy USDC-quoted coins
    funded_usdc: int = attrs.field(default=0, validator=_non_negative)


@attrs.frozen
class Launches:
    """Token launches: a Poisson process over simulated seconds.

    Attributes:
        rate_per_second: mean launches per simulated second (0 = no launches).
        create_v2_share: fraction launched with ``create_v2`` (Token-2022); the rest use
            the legacy ``create``.
        initial_buy_sol: the creator's own buy, in the create transaction.
        max_tokens: stop launching after this many (``None`` = no limit).
        usdc_share: fraction of the ``create_v2`` launches quoted in the simulator's USDC
            instead of SOL (mainnet has such coins; a bot skips them by default). Their
            creators and traders trade them with ``buy_v2`` / ``sell_v2``, their whales
            leave them alone (the simulator does not migrate token-quoted curves). Every
            wallet gets USDC base units equal to its SOL funding in lamports (a USDC
            curve's reserves are numerically those of a SOL curve: 30,000 USDC virtual).
    """

    rate_per_second: float = attrs.field(default=0.0, validator=_non_negative)
    create_v2_share: float = attrs.field(default=0.8, validator=_probability)
    usdc_share: float = attrs.field(default=0.0, validator=_probability)
    initial_buy_sol: Range[Lamports] = Range(
        Lamports(LAMPORTS_PER_SOL // 10), Lamports(2 * LAMPORTS_PER_SOL)
    )
    max_tokens: int | None = None


@attrs.frozen
class PriorityFees:
    """The compute-unit prices the market's transactions pay, so fee statistics have data.

    Each transaction draws one price from ``micro_lamports`` with ``weights`` (equal
    weights when omitted).
    """

    micro_lamports: tuple[int, ...] = (0,)
    weights: tuple[float, ...] | None = None
    compute_unit_limit: int = attrs.field(default=200_000, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if not self.micro_lamports:
            raise ValueError("micro_lamports must list at least one price")
        if any(price < 0 for price in self.micro_lamports):
            raise ValueError("micro_lamports must not be negative")
        if self.weights is not None:
            if len(self.weights) != len(self.micro_lamports):
                raise ValueError(
                    f"weights has {len(self.weights)} entries, "
                    f"micro_lamports has {len(self.micro_lamports)}"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")


@attrs.frozen
class Profile:
    """How one launched token is traded; each launch picks a profile by ``weight``.

    Every kind has traders doing a random walk (buy with ``buy_probability``, else sell a
    ``sell_fraction`` of their holding) every ``trade_interval`` seconds for ``lifetime``
    seconds after launch. The kind adds a script on top:

    * ``random_walk``: nothing more.
    * ``pump_dump``: for ``pump_seconds`` the traders buy with ``pump_buy_probability``;
      then the creator and every trader sell their whole holding and the token goes quiet.
    * ``instant_rug``: ``rug_after`` seconds after launch the creator sells everything.
    * ``curve_complete``: ``whale_after`` seconds after launch a whale buys every token
      left on the curve, which completes it; then the coin graduates to PumpSwap as
      ``[graduation]`` says.

    Any kind may add the early life of a real pump.fun coin (all off by default):
    ``bundle_buys`` wallets buy ``early_buy_sol`` each in a bundle with the create, so
    they land in the creation slot; ``snipers`` wallets buy ``early_buy_sol`` each
    ``sniper_delay`` seconds after the launch (the next slots); every bundler and sniper
    sells its whole holding ``early_dump_after`` seconds after the launch (early dumps).
    """

    kind: ProfileKind = "random_walk"
    weight: float = attrs.field(default=1.0, validator=_non_negative)
    traders: Range[int] = Range(2, 5)
    trade_interval: Range[float] = Range(0.4, 2.0)
    lifetime: Range[float] = Range(30.0, 120.0)
    buy_sol: Range[Lamports] = Range(
        Lamports(LAMPORTS_PER_SOL // 20), Lamports(LAMPORTS_PER_SOL // 2)
    )
    sell_fraction: Range[float] = Range(0.2, 1.0)
    buy_probability: float = attrs.field(default=0.55, validator=_probability)
    slippage_bps: int = attrs.field(default=500, validator=_non_negative)
    pump_seconds: Range[float] = Range(5.0, 15.0)
    pump_buy_probability: float = attrs.field(default=0.9, validator=_probability)
    rug_after: Range[float] = Range(0.5, 3.0)
    whale_after: Range[float] = Range(2.0, 10.0)
    bundle_buys: Range[int] = Range(0, 0)
    snipers: Range[int] = Range(0, 0)
    sniper_delay: Range[float] = Range(0.3, 1.5)
    early_buy_sol: Range[Lamports] = Range(
        Lamports(LAMPORTS_PER_SOL // 4), Lamports(2 * LAMPORTS_PER_SOL)
    )
    early_dump_after: Range[float] = Range(2.0, 10.0)

    def __attrs_post_init__(self) -> None:
        if self.sell_fraction.max > 1.0:
            raise ValueError("sell_fraction.max must be <= 1")
        if self.trade_interval.min <= 0:
            raise ValueError("trade_interval.min must be > 0")


@attrs.frozen
class FaultSettings:
    """The node's fault knobs as the scenario sets them (see ``sim.faults.Faults``).

    Kept frozen and separate from ``Faults`` because the node mutates its own knobs at run
    time and a loaded scenario must not change under a test.
    """

    latency_min: float = attrs.field(default=0.0, validator=_non_negative)
    latency_max: float = attrs.field(default=0.0, validator=_non_negative)
    send_order_window: float = attrs.field(default=0.0, validator=_non_negative)
    reorder_probability: float = attrs.field(default=0.0, validator=_probability)
    reorder_delay_min: float = attrs.field(default=0.4, validator=_non_negative)
    reorder_delay_max: float = attrs.field(default=1.2, validator=_non_negative)
    drop_probability: float = attrs.field(default=0.0, validator=_probability)
    rpc_429_rate: float = attrs.field(default=0.0, validator=_probability)
    retry_after: int = attrs.field(default=1, validator=_non_negative)
    rpc_5xx_rate: float = attrs.field(default=0.0, validator=_probability)
    ws_disconnect_rate: float = attrs.field(default=0.0, validator=_probability)
    confirm_depth: int = attrs.field(default=1, validator=_non_negative)
    finalize_depth: int = attrs.field(default=32, validator=_non_negative)
    vote_delay_median: float = attrs.field(default=0.0, validator=_non_negative)
    vote_delay_sigma: float = attrs.field(default=0.6, validator=_non_negative)
    vote_delay_max: int = attrs.field(default=64, validator=_non_negative)
    version1_rate: float = attrs.field(default=0.0, validator=_probability)

    def to_faults(self) -> Faults:
        """A fresh, mutable ``Faults`` for a node."""
        return Faults(**attrs.asdict(self))


@attrs.frozen
class Graduation:
    """What follows a completed curve (mainnet: pump's migration service, then PumpSwap).

    Attributes:
        migrate: the market's migrator sends pump's ``migrate`` for every completed
            SOL curve, ``migrate_after`` seconds after the completion landed.
        pool_trading: the token's traders keep trading it on its PumpSwap pool after
            migration (WSOL wrapped and unwrapped in each transaction), so the pool's
            price moves and its Buy/Sell events flow.
    """

    migrate: bool = True
    migrate_after: Range[float] = Range(0.5, 3.0)
    pool_trading: bool = True


@attrs.frozen
class Scenario:
    """One market: wallets, launches, trading profiles, fees and faults."""

    name: str
    description: str = ""
    slot_time: float = attrs.field(default=0.4, validator=_positive)
    wallets: Wallets = Wallets()
    launches: Launches = Launches()
    profiles: tuple[Profile, ...] = ()
    priority_fees: PriorityFees = PriorityFees()
    faults: FaultSettings = FaultSettings()
    graduation: Graduation = Graduation()

    def __attrs_post_init__(self) -> None:
        if self.launches.rate_per_second > 0 and not self.profiles:
            raise ValueError("a scenario that launches tokens needs at least one [[profiles]]")
        if self.profiles and sum(p.weight for p in self.profiles) <= 0:
            raise ValueError("profile weights must have a positive sum")
        if any(p.kind == "curve_complete" for p in self.profiles) and self.wallets.whales == 0:
            raise ValueError("a curve_complete profile needs wallets.whales >= 1")


# ---------------------------------------------------------------------------------------
# loading


def _strict_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _strict_float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _strict_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _strict_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _sol_to_lamports(value: object, _type: object) -> Lamports:
    """SOL as written (int, float or decimal string) → exact lamports."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected an amount of SOL, got {value!r}")
    try:
        lamports = Decimal(str(value)) * LAMPORTS_PER_SOL
    except InvalidOperation:
        raise TypeError(f"expected an amount of SOL, got {value!r}") from None
    if lamports != lamports.to_integral_value():
        raise TypeError(f"{value!r} SOL is not a whole number of lamports")
    return Lamports(int(lamports))


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(Lamports, _sol_to_lamports)
    return converter


_converter = _make_converter()


def _format_exception(exc: BaseException, type_: type | None) -> str:
    """Like cattrs' default, but keep our own messages (the default drops them)."""
    if isinstance(exc, TypeError | ValueError) and exc.args and isinstance(exc.args[0], str):
        if "literal" in exc.args[0]:
            return f"invalid value ({exc.args[0].split(' not in ')[0]} is not a known kind)"
        return f"invalid value ({exc})"
    return cattrs.v.format_exception(exc, type_)


def parse_scenario(data: dict[str, Any], *, source: str = "scenario") -> Scenario:
    """Structure already-parsed TOML into a :class:`Scenario`.

    Raises:
        ScenarioError: naming every bad key as a dotted path, e.g. ``$.wallets.traders``.
    """
    try:
        return _converter.structure(data, Scenario)
    except cattrs.BaseValidationError as exc:
        messages = cattrs.transform_error(exc, path="$", format_exception=_format_exception)
        raise ScenarioError(f"{source}: " + "; ".join(messages)) from None
    except (TypeError, ValueError) as exc:  # a post-init check of a top-level field
        raise ScenarioError(f"{source}: invalid value ({exc}) @ $") from None


def parse_fault_settings(data: Any, *, source: str = "faults") -> FaultSettings:
    """Structure a ``[faults]`` table (or a run-time change merged into one).

    Raises:
        ScenarioError: naming every bad knob, e.g. ``$.drop_probability``.
    """
    try:
        return _converter.structure(data, FaultSettings)
    except cattrs.BaseValidationError as exc:
        messages = cattrs.transform_error(exc, path="$", format_exception=_format_exception)
        raise ScenarioError(f"{source}: " + "; ".join(messages)) from None


_SCENARIOS = resources.files("trio_trader.sim") / "scenarios"


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _SCENARIOS.iterdir()
        if entry.name.endswith(".toml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name (``"default"``) or any TOML file by path.

    Raises:
        ScenarioError: unknown name, unreadable file, invalid TOML or invalid content.
    """
    text, source = _read(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    data.setdefault("name", Path(source).stem)
    return parse_scenario(data, source=source)


def _read(name_or_path: str | Path) -> tuple[str, str]:
    reader: Callable[[], str]
    text_path = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text_path or text_path.endswith(".toml"):
        path = Path(name_or_path)
        source = str(path)
        reader = path.read_text
    else:
        if text_path not in list_scenarios():
            raise ScenarioError(
                f"unknown scenario {text_path!r}; known: {', '.join(list_scenarios())}"
            )
        entry = _SCENARIOS / f"{text_path}.toml"
        source = f"{text_path}.toml"
        reader = entry.read_text
    try:
        return reader(), source
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror or exc}") from None
