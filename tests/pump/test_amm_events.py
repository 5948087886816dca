"""PumpSwap events: bytes written by the SDK's Anchor coder with the newest IDL, older
prefixes, the CPI form, and log attribution."""

from __future__ import annotations

import base64
import re
from typing import Any

import attrs
import pytest

from tests.pump.pumpswap_fixtures import amm_idl, pk, vectors
from trio_trader.pump import DecodeError
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, TOKEN_PROGRAM_ID
from trio_trader.pump.amm import events as ae

AMM = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"
CPI_TAG = bytes.fromhex("e445a52e51cb9a1d")
KINDS = {
    "sell_event": ae.SellEvent,
    "buy_event": ae.BuyEvent,
    "create_pool_event": ae.CreatePoolEvent,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _expected(cls: type[ae.AmmEvent], value: dict[str, Any]) -> ae.AmmEvent:
    """The SDK's JSON (camelCase, big ints as strings, keys base58) as our attrs event."""
    kinds = {f.name: f.type for f in attrs.fields(cls)}
    out: dict[str, Any] = {}
    for key, raw in value.items():
        name = _snake(key)
        kind = str(kinds[name])
        if "Pubkey" in kind:
            out[name] = pk(raw)
        elif "int" in kind:
            out[name] = int(raw)
        else:
            out[name] = raw
    return cls(**out)


def test_discriminators_match_the_idl() -> None:
    by_name = {e["name"]: bytes(e["discriminator"]) for e in amm_idl()["events"]}
    for cls in KINDS.values():
        assert by_name[cls.__name__] == cls.DISCRIMINATOR


@pytest.mark.parametrize("kind", list(KINDS))
def test_sdk_bytes_decode_and_encode_back(kind: str) -> None:
    enc = vectors()["encodings"][kind]
    raw = bytes.fromhex(enc["hex"])
    event = ae.decode_amm_event(raw)
    assert event == _expected(KINDS[kind], enc["value"])
    assert ae.encode_amm_event(event) == raw
    assert ae.decode_amm_event(CPI_TAG + raw) == event  # the self-CPI form
    assert ae.decode_amm_event(raw + b"\x07" * 9) == event  # a future appended field


def test_signed_i128_and_string_fields() -> None:
    buy = ae.decode_amm_event(bytes.fromhex(vectors()["encodings"]["buy_event"]["hex"]))
    sell = ae.decode_amm_event(bytes.fromhex(vectors()["encodings"]["sell_event"]["hex"]))
    assert isinstance(buy, ae.BuyEvent)
    assert isinstance(sell, ae.SellEvent)
    assert buy.virtual_quote_reserves == 2**127 - 1
    assert buy.ix_name == "buy_exact_quote_in"
    assert sell.virtual_quote_reserves == -5


def test_older_layouts_are_prefixes() -> None:
    full = ae.decode_amm_event(bytes.fromhex(vectors()["encodings"]["sell_event"]["hex"]))
    assert isinstance(full, ae.SellEvent)
    older = attrs.evolve(
        full,
        coin_creator=None,
        coin_creator_fee_basis_points=None,
        coin_creator_fee=None,
        cashback_fee_basis_points=None,
        cashback=None,
        buyback_fee_basis_points=None,
        buyback_fee=None,
        virtual_quote_reserves=None,
        can_boost=None,
        base_supply=None,
        holder_rewards_bps=None,
        holder_rewards=None,
    )
    raw = ae.encode_amm_event(older)
    assert len(raw) == 8 + 8 * 14 + 32 * 6  # the 2025-04 SellEvent
    assert ae.decode_amm_event(raw) == older
    with pytest.raises(DecodeError, match="truncated"):
        ae.decode_amm_event(raw[:-1])
    with pytest.raises(DecodeError):
        ae.decode_amm_event(bytes.fromhex(vectors()["encodings"]["sell_event"]["hex"])[:-3])
    with pytest.raises(DecodeError, match="not a PumpSwap"):
        ae.decode_amm_event(bytes(16))


def _line(raw: bytes) -> str:
    return "Program data: " + base64.b64encode(raw).decode()


def test_parse_logs_attributes_to_the_amm(caplog: pytest.LogCaptureFixture) -> None:
    sell = bytes.fromhex(vectors()["encodings"]["sell_event"]["hex"])
    create = bytes.fromhex(vectors()["encodings"]["create_pool_event"]["hex"])
    logs = [
        f"Program {PUMP_PROGRAM_ID} invoke [1]",
        "Program log: Instruction: Migrate",
        f"Program {AMM} invoke [2]",
        "Program log: Instruction: CreatePool",
        f"Program {TOKEN_PROGRAM_ID} invoke [3]",
        _line(sell),  # printed by another program: not the AMM's
        f"Program {TOKEN_PROGRAM_ID} success",
        _line(create),
        "Program data: !!!notbase64",
        _line(create[:40]),  # truncated: logged and skipped
        f"Program {AMM} success",
        _line(sell),  # pump's frame again: not the AMM's
        f"Program {PUMP_PROGRAM_ID} success",
        f"Program {AMM} invoke [1]",
        _line(sell),
        f"Program {AMM} success",
    ]
    events = ae.parse_amm_logs(logs)
    assert [type(e) for e in events] == [ae.CreatePoolEvent, ae.SellEvent]
    assert "malformed" in caplog.text
    assert "undecodable" in caplog.text
