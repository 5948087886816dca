"""The pump program's v2 instructions in the ledger: ``buy_v2``, ``sell_v2`` and
``buy_exact_quote_in_v2`` on SOL curves (native SOL, the same math and fees as legacy) and
on a curve quoted in the simulator's USDC (token transfers between the quote ATAs).
"""

from __future__ import annotations

import base64

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.sim.test_ledger import SOL, funded, make_tx
from tests.sim.test_ledger_pump import FEE_RECIPIENT, RATES, Coin
from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump import instructions as I
from trio_trader.pump.accounts import BondingCurve, Fees
from trio_trader.pump.events import CreateEvent, TradeEvent, parse_logs
from trio_trader.sim._genesis import genesis_global
from trio_trader.sim.clients import quoted_create_v2
from trio_trader.sim.ledger import ExecutedTransaction, Ledger

USDC = A.USDC_MINT
SPL = A.TOKEN_PROGRAM_ID


def token_amount(ledger: Ledger, account: Pubkey) -> int:
    acct = ledger.get_account(account)
    return 0 if acct is None else int.from_bytes(bytes(acct.data)[64:72], "little")


def v2_ix(coin: Coin, kind: str, user: Keypair, a: int, b: int, **kw: object) -> Instruction:
    builder = {"buy": I.buy_v2, "sell": I.sell_v2, "exact": I.buy_exact_quote_in_v2}[kind]
    first, second = {
        "buy": ("amount", "max_sol_cost"),
        "sell": ("amount", "min_sol_output"),
        "exact": ("spendable_quote_in", "min_tokens_out"),
    }[kind]
    args = {
        "user": user.pubkey(),
        "mint": coin.mint,
        "creator": coin.creator.pubkey(),
        "token_program": coin.tp,
        "fee_recipient": FEE_RECIPIENT,
        first: a,
        second: b,
        **kw,
    }
    return builder(**args)  # type: ignore[operator]


def run(coin: Coin, user: Keypair, *ixs: Instruction) -> ExecutedTransaction:
    return coin.ledger.execute(make_tx([coin.ata_ix(user), *ixs], user), blocktime=1_700_000_300)


def only(result: ExecutedTransaction) -> TradeEvent:
    (event,) = [e for e in parse_logs(result.logs) if isinstance(e, TradeEvent)]
    return event


@pytest.mark.parametrize("v2_token", [False, True])
def test_buy_v2_and_sell_v2_on_a_sol_curve_move_what_legacy_moves(v2_token: bool) -> None:
    """Two identical coins, one traded legacy, one v2: every balance moves alike."""
    legacy, v2 = Coin(v2=v2_token), Coin(v2=v2_token)
    deltas = []
    for coin, kind in ((legacy, "legacy"), (v2, "v2")):
        user = funded(coin.ledger, 10 * SOL)
        vault = A.creator_vault_pda(coin.creator.pubkey())
        watched = [user.pubkey(), A.bonding_curve_pda(coin.mint), FEE_RECIPIENT, vault]
        before = [coin.ledger.balance(k) for k in watched]
        if kind == "legacy":
            buy = coin.buy(user, 10**12, SOL)
            sell = coin.sell(user, 4 * 10**11, 0)
        else:
            buy = run(coin, user, v2_ix(coin, "buy", user, 10**12, SOL))
            sell = coin.ledger.execute(make_tx([v2_ix(coin, "sell", user, 4 * 10**11, 0)], user))
            assert only(buy).ix_name == "buy_v2"
            assert only(sell).ix_name == "sell_v2"
            assert "Program log: Instruction: BuyV2" in buy.logs
        assert buy.err is None, buy.logs
        assert sell.err is None, sell.logs
        after = [coin.ledger.balance(k) for k in watched]
        fees = buy.fee + sell.fee
        deltas.append([a - b for a, b in zip(after, before, strict=True)] + [fees])
        assert token_amount(coin.ledger, coin.ata(user.pubkey())) == 6 * 10**11
    assert deltas[0] == deltas[1]
    quote = C.quote_buy(10**12, C.Reserves.of(Coin().curve), RATES)
    assert deltas[0][2] >= quote.protocol_fee  # the fee recipient was paid on both trades


def test_buy_exact_quote_in_v2_spends_the_budget_on_a_sol_curve() -> None:
    coin = Coin()
    user = funded(coin.ledger, 10 * SOL)
    quote = C.quote_buy_exact_sol_in(SOL // 2, C.Reserves.of(coin.curve), RATES)
    result = run(coin, user, v2_ix(coin, "exact", user, SOL // 2, quote.amount))
    assert result.err is None, result.logs
    assert token_amount(coin.ledger, coin.ata(user.pubkey())) == quote.amount
    event = only(result)
    assert event.ix_name == "buy_exact_quote_in_v2"
    assert event.sol_amount == quote.sol_cost
    tight = run(coin, user, v2_ix(coin, "exact", user, SOL // 2, quote.amount * 2))
    assert tight.err == {"InstructionError": [1, {"Custom": 6042}]}


def test_v2_checks_the_quote_mint_and_the_recipients() -> None:
    coin = Coin()
    user = funded(coin.ledger, 10 * SOL)
    wrong_quote = run(coin, user, v2_ix(coin, "buy", user, 10**9, SOL, quote_mint=USDC))
    assert wrong_quote.err == {"InstructionError": [1, {"Custom": 6063}]}
    stranger = Keypair().pubkey()
    bad_fee = run(coin, user, v2_ix(coin, "buy", user, 10**9, SOL, fee_recipient=stranger))
    assert bad_fee.err == {"InstructionError": [1, {"Custom": 6000}]}
    bad_buyback = run(
        coin, user, v2_ix(coin, "buy", user, 10**9, SOL, buyback_fee_recipient=stranger)
    )
    assert bad_buyback.err == {"InstructionError": [1, {"Custom": 6057}]}
    ix = v2_ix(coin, "buy", user, 10**9, SOL)
    metas = list(ix.accounts)
    metas[12] = AccountMeta(stranger, False, True)  # associated_quote_bonding_curve
    bad_seeds = run(coin, user, Instruction(ix.program_id, bytes(ix.data), metas))
    assert bad_seeds.err == {"InstructionError": [1, {"Custom": 2006}]}
    short = Instruction(ix.program_id, bytes(ix.data), metas[:26])
    assert run(coin, user, short).err == {"InstructionError": [1, {"Custom": 3005}]}


# -- a curve quoted in USDC ------------------------------------------------------------


class UsdcCoin(Coin):
    """A ``create_v2`` coin whose curve is quoted in the simulator's USDC."""

    def __init__(self) -> None:
        self.ledger = Ledger(seed=2)
        self.creator = funded(self.ledger, 100 * SOL)
        self.mint_kp = Keypair()
        self.mint = self.mint_kp.pubkey()
        self.tp = A.TOKEN_2022_PROGRAM_ID
        ix = I.create_v2(
            mint=self.mint,
            user=self.creator.pubkey(),
            creator=self.creator.pubkey(),
            name="Usd Coin",
            symbol="USDSIM",
            uri="https://example.invalid/usd.json",
        )
        self.created = self.ledger.execute(
            make_tx([quoted_create_v2(ix, USDC)], self.creator, self.mint_kp),
            slot=1,
            blocktime=1_700_000_000,
        )
        assert self.created.err is None, self.created.logs

    def quote_ata(self, owner: Pubkey) -> Pubkey:
        return A.associated_token_address(owner, USDC, SPL)


@pytest.fixture
def usdc() -> UsdcCoin:
    return UsdcCoin()


def test_a_usdc_coin_starts_with_globals_virtual_quote_reserves(usdc: UsdcCoin) -> None:
    curve = usdc.curve
    assert curve.quote_mint == USDC
    assert curve.virtual_sol_reserves == genesis_global().initial_virtual_quote_reserves
    (created,) = [e for e in parse_logs(usdc.created.logs) if isinstance(e, CreateEvent)]
    assert created.quote_mint == USDC
    assert token_amount(usdc.ledger, usdc.quote_ata(A.bonding_curve_pda(usdc.mint))) == 0
    acct = usdc.ledger.get_account(usdc.quote_ata(A.bonding_curve_pda(usdc.mint)))
    assert acct is not None
    assert acct.owner == SPL


def test_buy_v2_and_sell_v2_in_usdc_move_usdc_between_the_quote_accounts(usdc: UsdcCoin) -> None:
    ledger = usdc.ledger
    user = funded(ledger, 2 * SOL)
    ledger.mint_quote_tokens(user.pubkey(), 1_000 * 10**6)  # 1,000 USDC
    curve_quote = usdc.quote_ata(A.bonding_curve_pda(usdc.mint))
    fee_quote = usdc.quote_ata(FEE_RECIPIENT)
    vault_quote = usdc.quote_ata(A.creator_vault_pda(usdc.creator.pubkey()))
    rates = C.FeeRates(protocol_bps=95, creator_bps=30)
    quote = C.quote_buy(10**12, C.Reserves.of(usdc.curve), rates)
    sol_before = ledger.balance(user.pubkey())

    buy = run(usdc, user, v2_ix(usdc, "buy", user, 10**12, 100 * 10**6, quote_mint=USDC))

    assert buy.err is None, buy.logs
    assert token_amount(ledger, usdc.quote_ata(user.pubkey())) == 1_000 * 10**6 - quote.total
    assert token_amount(ledger, curve_quote) == quote.sol_cost
    assert token_amount(ledger, fee_quote) == quote.protocol_fee
    assert token_amount(ledger, vault_quote) == quote.creator_fee
    assert token_amount(ledger, usdc.ata(user.pubkey())) == 10**12
    # SOL only paid the transaction fee and rents (token account, accumulator, vault ATA)
    rents = ledger.rent_exempt_minimum(170) + ledger.rent_exempt_minimum(106)
    rents += ledger.rent_exempt_minimum(165)
    assert ledger.balance(user.pubkey()) == sol_before - buy.fee - rents
    event = only(buy)
    assert event.quote_mint == USDC
    assert event.quote_amount == quote.sol_cost
    assert event.real_quote_reserves == quote.sol_cost
    curve: BondingCurve = usdc.curve
    assert curve.real_sol_reserves == quote.sol_cost

    sell_quote = C.quote_sell(4 * 10**11, C.Reserves.of(curve), rates)
    usdc_before = token_amount(ledger, usdc.quote_ata(user.pubkey()))
    sell = ledger.execute(
        make_tx([v2_ix(usdc, "sell", user, 4 * 10**11, sell_quote.net, quote_mint=USDC)], user)
    )
    assert sell.err is None, sell.logs
    assert token_amount(ledger, usdc.quote_ata(user.pubkey())) == usdc_before + sell_quote.net
    assert token_amount(ledger, curve_quote) == quote.sol_cost - (
        sell_quote.net + sell_quote.protocol_fee + sell_quote.creator_fee
    )
    assert token_amount(ledger, fee_quote) == quote.protocol_fee + sell_quote.protocol_fee


def test_a_usdc_coin_refuses_legacy_trades_and_sol_v2_trades(usdc: UsdcCoin) -> None:
    user = funded(usdc.ledger, 2 * SOL)
    legacy = usdc.buy(user, 10**9, SOL)
    assert legacy.err == {"InstructionError": [1, {"Custom": 6063}]}
    as_sol = run(usdc, user, v2_ix(usdc, "buy", user, 10**9, SOL))
    assert as_sol.err == {"InstructionError": [1, {"Custom": 6063}]}


def test_a_usdc_buy_without_usdc_fails_in_the_token_program(usdc: UsdcCoin) -> None:
    user = funded(usdc.ledger, 2 * SOL)
    usdc.ledger.mint_quote_tokens(user.pubkey(), 10)
    result = run(usdc, user, v2_ix(usdc, "buy", user, 10**12, 100 * 10**6, quote_mint=USDC))
    assert result.err == {"InstructionError": [1, {"Custom": 1}]}
    assert usdc.curve.real_sol_reserves == 0


def test_create_v2_refuses_a_quote_mint_that_is_not_whitelisted() -> None:
    ledger = Ledger(seed=3)
    creator = funded(ledger, 10 * SOL)
    mint = Keypair()
    ix = I.create_v2(
        mint=mint.pubkey(),
        user=creator.pubkey(),
        creator=creator.pubkey(),
        name="X",
        symbol="X",
        uri="u",
    )
    result = ledger.execute(make_tx([quoted_create_v2(ix, Keypair().pubkey())], creator, mint))
    assert result.err == {"InstructionError": [0, {"Custom": 6068}]}


def test_the_usdc_faucet_refuses_other_mints() -> None:
    ledger = Ledger(seed=4)
    with pytest.raises(ValueError, match="not a quote mint"):
        ledger.mint_quote_tokens(Keypair().pubkey(), 1, mint=A.WSOL_MINT)


def test_usdc_trades_pay_the_stable_tier(usdc: UsdcCoin) -> None:
    """The fee program answers from ``stable_fee_tiers`` for USDC (its return data)."""
    user = funded(usdc.ledger, 2 * SOL)
    usdc.ledger.mint_quote_tokens(user.pubkey(), 10**9)
    result = run(usdc, user, v2_ix(usdc, "buy", user, 10**9, 10**8, quote_mint=USDC))
    assert result.err is None, result.logs
    (line,) = [x for x in result.logs if x.startswith(f"Program return: {A.PUMP_FEE_PROGRAM_ID}")]
    assert Fees.decode(base64.b64decode(line.split()[-1])) == Fees(0, 95, 30)
