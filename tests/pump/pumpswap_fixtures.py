"""Fixtures saved under tests/pump/fixtures/ (sources in docs/protocol-pumpswap.md):

* ``pump_amm.json`` - the PumpSwap IDL from ``@pump-fun/pump-sdk`` 2.0.0 (newest found);
* ``pumpswap_sdk_vectors.json`` - PDAs, instructions, quotes and borsh encodings computed by
  the official SDKs (pump-swap-sdk 1.20.0, pump-sdk 2.0.0) with ``gen_pumpswap_vectors.js``;
* ``pumpswap_fee_config_mainnet_2026-09-08.b64`` - the live AMM FeeConfig account bytes
  (slot 445,186,127) as shipped in the pump-swap-sdk 1.20.0 test suite.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@cache
def amm_idl() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "pump_amm.json").read_text())
    return data


@cache
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "pumpswap_sdk_vectors.json").read_text())
    return data


@cache
def mainnet_amm_fee_config_bytes() -> bytes:
    return base64.b64decode((FIXTURES / "pumpswap_fee_config_mainnet_2026-09-08.b64").read_text())


def pk(text: str) -> Pubkey:
    return Pubkey.from_string(text)


def sdk_instruction(entry: dict[str, Any]) -> Instruction:
    """An instruction as the SDK serialised it: programId, keys [pubkey, signer, writable], data."""
    metas = [AccountMeta(pk(k), is_signer=sig, is_writable=w) for k, sig, w in entry["keys"]]
    return Instruction(pk(entry["programId"]), bytes.fromhex(entry["data"]), metas)


def idl_flags(idl: dict[str, Any], name: str) -> list[tuple[bool, bool]]:
    """(writable, signer) of each IDL account of instruction ``name``."""
    (entry,) = [i for i in idl["instructions"] if i["name"] == name]
    return [(a.get("writable", False), a.get("signer", False)) for a in entry["accounts"]]


def flags(instruction: Instruction) -> list[tuple[bool, bool]]:
    return [(m.is_writable, m.is_signer) for m in instruction.accounts]
