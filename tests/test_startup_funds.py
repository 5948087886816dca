"""The start-up funds check sizes the SOL a BUY needs by the quote mints traded."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader import startup
from trio_trader.budget import BuyRents
from trio_trader.config import Config, parse_config
from trio_trader.pump.curve import max_sol_cost

RENTS = BuyRents(token_account=1_488_440, volume_accumulator=1_245_440, creator_vault=650_240)
WALLET = Pubkey.new_unique()
KEY = {"TEST_KEY": str(Keypair())}


def config(quote_mints: list[str]) -> Config:
    return parse_config(
        {
            "rpc": {"endpoints": ["http://127.0.0.1:8899"], "ws_url": "ws://127.0.0.1:8900"},
            "wallet": {"private_key_env": "TEST_KEY"},
            "trade": {"buy_amount_sol": "0.5", "instructions": "v2", "quote_mints": quote_mints},
        },
        env=KEY,
    )


def test_a_usdc_only_wallet_needs_sol_only_for_rent_and_fees() -> None:
    usdc_only, with_sol = config(["USDC"]), config(["SOL", "USDC"])
    fees_and_rent = startup.buy_cost(usdc_only, RENTS)
    sol_buy = startup.buy_cost(with_sol, RENTS)
    budget = max_sol_cost(500_000_000, usdc_only.trade.buy_slippage_bps)
    assert fees_and_rent == sol_buy - budget  # the same rent and fees, no SOL budget
    assert fees_and_rent > RENTS.total  # rent and the fees of the BUY and the SELL
    # 0.1 SOL pays the rent and fees of a USDC BUY: the USDC-only bot starts ...
    startup.check_funds(usdc_only, WALLET, 100_000_000, RENTS)
    # ... while the same wallet is refused when SOL coins are traded too.
    with pytest.raises(startup.StartupError, match="less than one BUY can cost"):
        startup.check_funds(with_sol, WALLET, 100_000_000, RENTS)


def test_a_usdc_only_wallet_without_sol_for_fees_is_refused_in_its_terms() -> None:
    usdc_only = config(["USDC"])
    cost = startup.buy_cost(usdc_only, RENTS)
    with pytest.raises(startup.StartupError) as info:
        startup.check_funds(usdc_only, WALLET, cost - 1, RENTS)
    assert str(info.value) == (
        f"wallet {WALLET} holds {(cost - 1) / 1e9:.9f} SOL, less than the rent and fees of one "
        f"USDC BUY and its SELL ({cost / 1e9:.9f} SOL); fund the wallet with SOL"
    )
