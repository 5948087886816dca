"""The simulator charges mainnet's 2026 rent: 5,080 lamports per byte (the 128-byte account
overhead included), not Solana's historical 6,960 (3,480 × 2 years).

Mainnet evidence (public getTransaction results, aquecerandroi-oss/project-hunter fixtures):
a buy of 2026-10-05 (t48e_rpc_tx_buy_3JLToMLjc2mt) creates a 170-byte Token-2022 token
account holding 1,513,840 lamports = 298 × 5,080, and a simulated buy of 2026-10-08 grows a
151-byte curve to 166 bytes for 76,200 = 15 × 5,080 (a 165-byte SPL account: 1,488,440).
The 2024-08 and 2025-05 captures in ``../shared/pumpfun/samples`` still show 2,039,280 for
a 165-byte account (293 × 6,960): the rate fell between 2025-05 and 2026-10.
"""

from __future__ import annotations

from tests.sim.test_ledger import SOL, funded
from tests.sim.test_ledger_pump import Coin
from trio_trader.pump.accounts import BondingCurve
from trio_trader.sim.ledger import Ledger
from trio_trader.sim.rent import MAINNET_LAMPORTS_PER_BYTE


def test_rent_exempt_minimums_are_mainnets_2026_figures() -> None:
    ledger = Ledger()
    assert MAINNET_LAMPORTS_PER_BYTE == 5_080
    assert ledger.rent_exempt_minimum(170) == 1_513_840  # the real Token-2022 account
    assert ledger.rent_exempt_minimum(165) == 1_488_440  # an SPL token account
    assert ledger.rent_exempt_minimum(0) == 128 * 5_080 == 650_240  # a creator vault
    growth = ledger.rent_exempt_minimum(BondingCurve.SIZE) - ledger.rent_exempt_minimum(151)
    assert growth == 76_200  # what mainnet charged for 151 → 166


def test_the_token_programs_see_the_same_rate_through_the_rent_sysvar() -> None:
    """The real SPL programs read the Rent sysvar: the token account the ATA program
    creates in a buy holds exactly mainnet's minimum, and the buyer paid it."""
    for v2, size, rent in ((False, 165, 1_488_440), (True, 170, 1_513_840)):
        coin = Coin(v2=v2)
        buyer = funded(coin.ledger)
        result = coin.buy(buyer, 10**12, SOL)
        assert result.err is None, result.logs
        account = coin.ledger.get_account(coin.ata(buyer.pubkey()))
        assert account is not None
        assert len(bytes(account.data)) == size
        assert account.lamports == rent
        index = result.account_keys.index(coin.ata(buyer.pubkey()))
        assert result.pre_balances[index] == 0
        assert result.post_balances[index] == rent
