"""What a failed pump transaction's error code means, for people and for the bot.

A program failure reaches us as ``{"InstructionError": [ix, {"Custom": n}]}`` in
``meta.err``. ``n`` ≥ 6000 is the pump program's own code (``pump.json`` → ``errors``),
100-5000 is Anchor's (account constraints checked before the program's code runs), and
below 100 a native program's (System, SPL Token) that failed inside the instruction.
:func:`describe_error` gives the IDL name and a one-line explanation a user can act on;
the explanations cover the codes a trading bot meets (PROTOCOL.md §9) and fall back to
the IDL message for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from ._error_codes import ANCHOR_ERRORS, PUMP_ERRORS

__all__ = ["ProgramError", "describe_error", "error_from_transaction_err"]


@attrs.frozen
class ProgramError:
    """A decoded custom program error code."""

    code: int
    name: str
    explanation: str

    @property
    def hex(self) -> str:
        """The form RPC logs use: ``custom program error: 0x1773``."""
        return f"0x{self.code:x}"

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.explanation}"


_EXPLANATIONS: dict[int, str] = {
    6000: "not authorized: wrong authority, or a fee recipient the program does not accept",
    6002: "buy slippage exceeded: the price rose above your max_sol_cost",
    6003: "sell slippage exceeded: price fell below your minimum",
    6004: "the mint does not belong to this bonding curve",
    6005: "the bonding curve is complete (migrated): trade this coin on PumpSwap instead",
    6006: "the bonding curve is not complete yet, so it cannot migrate",
    6020: "cannot buy zero tokens",
    6021: "not enough tokens left on the curve for this buy",
    6022: "cannot sell zero tokens",
    6023: "not enough tokens to sell: the wallet holds fewer than the amount (buy not landed?)",
    6024: "arithmetic overflow in the program (amount too large)",
    6027: "the instruction is missing required remaining accounts",
    6030: "create needs a non-zero creator",
    6040: "the buyer does not have enough SOL to cover rent for new accounts",
    6041: "the buyer does not have enough SOL to cover the fees",
    6042: "buy slippage exceeded: fewer tokens than min_tokens_out",
    6043: "token name too long (max 32 characters)",
    6044: "token symbol too long (max 13 characters)",
    6045: "metadata URI too long (max 200 characters)",
    6046: "create_v2 is disabled on the program right now",
    6048: "mayhem mode is disabled on the program right now",
    6056: "cashback is not enabled for this coin",
    6057: "the buyback fee recipient is not one of Global.buyback_fee_recipients",
    6062: "buy/sell lacks the trailing bonding_curve_v2 + buyback fee recipient accounts",
    6063: "unsupported quote mint",
    6071: "mayhem mode is not allowed with this quote mint",
    6072: "a cashback coin trade lacks its user_volume_accumulator account",
    6074: "the bonding_curve_v2 account is missing or is the wrong PDA",
    6081: "the bonding curve has already migrated",
    6082: "cashback coins can no longer be created",
    2003: "an account failed a constraint check (often a wrong fee recipient or creator vault)",
    2006: "an account has the wrong address for its seeds (PDA/ATA derived from wrong inputs "
    "or the wrong token program)",
    2012: "an account has the wrong address",
    3007: "an account is owned by the wrong program (wrong token program for this mint?)",
    3012: "an account the instruction needs does not exist yet (token account not created?)",
}


#: Codes below 100 come from native programs (System, SPL Token) that a pump instruction
#: or a bot's own instruction called; the code alone does not say which, so the names fit
#: both where they share a meaning (1 is "not enough balance" in both).
_NATIVE_ERRORS: dict[int, tuple[str, str]] = {
    0: ("AccountAlreadyInUse", "the account already exists or is not rent exempt"),
    1: (
        "InsufficientFunds",
        "not enough balance: SOL for a transfer or rent (System program), or tokens for a "
        "transfer (Token program; e.g. a SELL whose BUY has not landed)",
    ),
    3: ("MintMismatch", "the token account belongs to another mint"),
    4: ("OwnerMismatch", "the token account belongs to another owner"),
    11: ("NonNativeHasBalance", "a token account can only be closed once it holds no tokens"),
    17: ("AccountFrozen", "the token account is frozen"),
}


def describe_error(code: int) -> ProgramError:
    """Name and explanation of a custom program error code; unknown codes → ``"Unknown"``."""
    if code in _NATIVE_ERRORS:
        return ProgramError(code, *_NATIVE_ERRORS[code])
    entry = PUMP_ERRORS.get(code) or ANCHOR_ERRORS.get(code)
    if entry is None:
        return ProgramError(code, "Unknown", f"unknown program error code {code} (0x{code:x})")
    name, message = entry
    explanation = _EXPLANATIONS.get(code) or message or name
    return ProgramError(code, name, explanation)


def error_from_transaction_err(err: object) -> ProgramError | None:
    """The custom program error inside a JSON ``meta.err``, or ``None`` if there is none.

    Accepts ``{"InstructionError": [i, {"Custom": n}]}`` (what RPC returns) and the
    tuple/list form ``[i, {"Custom": n}]``; any other shape (``"AccountNotFound"``,
    ``{"InstructionError": [0, "InvalidAccountData"]}``, ``None``) gives ``None``.
    """
    if isinstance(err, Mapping):
        err = err.get("InstructionError")
    if not isinstance(err, Sequence) or isinstance(err, str | bytes) or len(err) != 2:
        return None
    detail = err[1]
    if not isinstance(detail, Mapping):
        return None
    code = detail.get("Custom")
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    return describe_error(code)
