"""Instruction bytes and account metas against PROTOCOL §4, pump.json and real instructions."""

from __future__ import annotations

import base64

import base58
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from tests.conftest import load_sample
from trio_trader.pump import DecodeError
from trio_trader.pump import addresses as a
from trio_trader.pump import instructions as ix

PK = Pubkey.from_string


def _metas(sample_accounts: list[dict]) -> list[AccountMeta]:
    return [
        AccountMeta(PK(m["pubkey"]), is_signer=m["is_signer"], is_writable=m["is_writable"])
        for m in sample_accounts
    ]


def _idl_flags(idl: dict, name: str) -> list[tuple[str, bool, bool]]:
    (entry,) = [i for i in idl["instructions"] if i["name"] == name]
    return [
        (x["name"], x.get("writable", False), x.get("signer", False)) for x in entry["accounts"]
    ]


def _flags(instruction: Instruction) -> list[tuple[bool, bool]]:
    return [(m.is_writable, m.is_signer) for m in instruction.accounts]


def _fresh_parties() -> dict[str, Pubkey]:
    """New ``user`` / ``mint`` / ``creator`` keys for a trade builder."""
    return {name: Pubkey.new_unique() for name in ("user", "mint", "creator")}


def _buy(**kw) -> Instruction:
    args = _fresh_parties() | {
        "token_program": a.TOKEN_2022_PROGRAM_ID,
        "fee_recipient": a.FEE_RECIPIENTS[3],
        "amount": 1_000_000_000_000,
        "max_sol_cost": 35_000_000,
    }
    return ix.buy(**(args | kw))


def _sell(**kw) -> Instruction:
    args = _fresh_parties() | {
        "token_program": a.TOKEN_PROGRAM_ID,
        "fee_recipient": a.FEE_RECIPIENTS[0],
        "amount": 5,
        "min_sol_output": 6,
    }
    return ix.sell(**(args | kw))


def test_buy_data_is_the_25_byte_example_of_protocol_4_1():
    instruction = _buy(track_volume=True)
    assert bytes(instruction.data).hex() == "66063d1201daebea0010a5d4e8000000c00e16020000000001"
    assert instruction.program_id == a.PUMP_PROGRAM_ID


def test_buy_has_18_accounts_with_the_two_trailing_remaining_accounts():
    mint = Pubkey.new_unique()
    instruction = _buy(mint=mint)
    assert len(instruction.accounts) == 18
    v2, buyback = instruction.accounts[16:]
    assert v2 == AccountMeta(a.bonding_curve_v2_pda(mint), is_signer=False, is_writable=False)
    assert buyback == AccountMeta(a.BUYBACK_FEE_RECIPIENTS[0], is_signer=False, is_writable=True)
    chosen = _buy(buyback_fee_recipient=a.BUYBACK_FEE_RECIPIENTS[5])
    assert chosen.accounts[17].pubkey == a.BUYBACK_FEE_RECIPIENTS[5]


def test_buy_and_sell_flags_follow_the_idl(idl):
    buy_idl = _idl_flags(idl, "buy")
    assert _flags(_buy())[:16] == [(w, s) for _, w, s in buy_idl]
    exact = ix.buy_exact_sol_in(
        user=Pubkey.new_unique(),
        mint=Pubkey.new_unique(),
        creator=Pubkey.new_unique(),
        token_program=a.TOKEN_PROGRAM_ID,
        fee_recipient=a.FEE_RECIPIENTS[0],
        spendable_sol_in=10,
        min_tokens_out=20,
    )
    assert _flags(exact)[:16] == [(w, s) for _, w, s in _idl_flags(idl, "buy_exact_sol_in")]
    assert len(exact.accounts) == 18
    sell_idl = _idl_flags(idl, "sell")
    assert _flags(_sell())[:14] == [(w, s) for _, w, s in sell_idl]


def test_sell_has_16_accounts_and_17_with_cashback():
    user, mint = Pubkey.new_unique(), Pubkey.new_unique()
    plain = _sell(user=user, mint=mint)
    assert len(plain.accounts) == 16
    assert bytes(plain.data) == bytes.fromhex("33e685a4017f83ad") + (5).to_bytes(8, "little") + (
        6
    ).to_bytes(8, "little")
    cashback = _sell(user=user, mint=mint, cashback=True)
    assert len(cashback.accounts) == 17
    assert cashback.accounts[14] == AccountMeta(
        a.user_volume_accumulator_pda(user), is_signer=False, is_writable=True
    )
    assert cashback.accounts[15:] == plain.accounts[14:]
    assert plain.accounts[14].pubkey == a.bonding_curve_v2_pda(mint)


def test_a_sell_after_its_buy_reuses_the_buys_metas_and_names_the_same_accounts():
    # The metas a BUY builds are kept for its SELLs; a SELL built from them lists the
    # very accounts, flags and order of one built from nothing (caches cleared).
    user, mint, creator = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    fee, buyback = a.FEE_RECIPIENTS[3], a.BUYBACK_FEE_RECIPIENTS[2]
    common = dict(user=user, mint=mint, creator=creator, token_program=a.TOKEN_2022_PROGRAM_ID,
                  fee_recipient=fee, buyback_fee_recipient=buyback)  # fmt: skip
    buy = ix.buy(**common, amount=7, max_sol_cost=8)
    after_buy = [ix.sell(**common, amount=5, min_sol_output=6, cashback=c) for c in (False, True)]
    for cached in (ix._legacy_head, ix._legacy_tail, ix._creator_vault_w, ix._user_volume_w):
        cached.cache_clear()
    fresh = [ix.sell(**common, amount=5, min_sol_output=6, cashback=c) for c in (False, True)]
    assert after_buy == fresh
    plain = fresh[0]
    assert plain.accounts[:8] == buy.accounts[:8]
    assert plain.accounts[8] == AccountMeta(a.creator_vault_pda(creator), False, True)
    assert plain.accounts[9] == AccountMeta(a.TOKEN_2022_PROGRAM_ID, False, False)
    assert [m.pubkey for m in plain.accounts[10:14]] == [
        a.EVENT_AUTHORITY, a.PUMP_PROGRAM_ID, a.FEE_CONFIG, a.PUMP_FEE_PROGRAM_ID,
    ]  # fmt: skip
    assert plain.accounts[14:] == [
        AccountMeta(a.bonding_curve_v2_pda(mint), False, False),
        AccountMeta(buyback, False, True),
    ]
    ata = a.associated_token_address(user, mint, a.TOKEN_2022_PROGRAM_ID)
    close = dict(account=ata, destination=user, owner=user, token_program=a.TOKEN_2022_PROGRAM_ID)
    kept = ix.close_account(**close)
    ix.close_account.cache_clear()
    assert ix.close_account(**close) == kept == Instruction(
        a.TOKEN_2022_PROGRAM_ID, bytes([9]),
        [AccountMeta(ata, False, True), AccountMeta(user, False, True),
         AccountMeta(user, True, False)],
    )  # fmt: skip


def test_sell_matches_the_14_accounts_of_the_2025_sample_s07():
    sample = load_sample("s07_carbon_sell_ix_14accts_2025.json")
    expected = _metas(sample["accounts"])
    data = bytes.fromhex(sample["data"])
    name, args = ix.decode_pump_instruction(data)
    assert name == "sell"
    ours = ix.sell(
        user=expected[6].pubkey,
        mint=expected[2].pubkey,
        creator=Pubkey.new_unique(),  # the sample's creator is not recorded
        token_program=a.TOKEN_PROGRAM_ID,
        fee_recipient=expected[1].pubkey,
        amount=args.amount,
        min_sol_output=args.min_sol_output,
    )
    assert bytes(ours.data) == data
    for i, (mine, real) in enumerate(zip(ours.accounts[:14], expected, strict=True)):
        if i == 8:  # creator_vault: derived from a creator the sample does not give
            assert (mine.is_signer, mine.is_writable) == (real.is_signer, real.is_writable)
        else:
            assert mine == real, i


def _vixen(name: str) -> tuple[list[Pubkey], bytes]:
    sample = load_sample(name)
    trade = sample["instructions"][0]
    return [Pubkey.from_bytes(bytes(k)) for k in trade["accounts"]], bytes(trade["data"])


def test_buy_matches_the_2026_token_2022_buy_s09():
    keys, data = _vixen("s09_vixen_buy_token2022_2026-02-09.json")
    name, args = ix.decode_pump_instruction(data)
    assert name == "buy"
    assert args.track_volume is False
    ours = ix.buy(
        user=keys[6],
        mint=keys[2],
        creator=PK("C9PS4bwcC6G81DhrqpC9v9BXwntirYPEQFycEvAQyqXN"),  # from its TradeEvent
        token_program=keys[8],
        fee_recipient=keys[1],
        amount=args.amount,
        max_sol_cost=args.max_sol_cost,
        track_volume=args.track_volume,
    )
    assert bytes(ours.data) == data
    assert [m.pubkey for m in ours.accounts[:16]] == keys


def test_sell_matches_the_2026_token_2022_sell_s10():
    keys, data = _vixen("s10_vixen_sell_token2022_2026-02-09.json")
    name, args = ix.decode_pump_instruction(data)
    assert name == "sell"
    ours = ix.sell(
        user=keys[6],
        mint=keys[2],
        creator=PK("43gqyYu6kxa6pkvMJm4gvpYCAejja4sps6CZDeqvX9ux"),
        token_program=keys[9],
        fee_recipient=keys[1],
        amount=args.amount,
        min_sol_output=args.min_sol_output,
    )
    assert bytes(ours.data) == data
    assert [m.pubkey for m in ours.accounts[:14]] == keys


def test_2024_twelve_account_buy_s01_decodes_without_track_volume():
    tx = load_sample("s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json")["result"]
    buy_ix, sell_ix = [
        i
        for i in tx["transaction"]["message"]["instructions"]
        if i["programId"] == str(a.PUMP_PROGRAM_ID)
    ]
    name, args = ix.decode_pump_instruction(base58.b58decode(buy_ix["data"]))
    assert (name, args.amount, args.track_volume) == ("buy", 605_426_095_720, False)
    assert args.max_sol_cost >= 24_080_282 + 240_802  # cost + 1 % fee fitted under the cap
    name, args = ix.decode_pump_instruction(base58.b58decode(sell_ix["data"]))
    assert (name, args.amount) == ("sell", 605_426_095_720)
    assert args.min_sol_output <= 24_080_281 - 240_802


def test_legacy_create_matches_sample_s08(idl):
    sample = load_sample("s08_carbon_create_ix_2025-03.json")
    expected = _metas(sample["accounts"])
    data = bytes.fromhex(sample["data"])
    name, args = ix.decode_pump_instruction(data)
    assert name == "create"
    assert (args.name, args.symbol) == ("Mystical Cat", "MC")
    assert args.creator == expected[7].pubkey
    ours = ix.create(
        mint=expected[0].pubkey,
        user=expected[7].pubkey,
        creator=args.creator,
        name=args.name,
        symbol=args.symbol,
        uri=args.uri,
    )
    assert bytes(ours.data) == data
    assert list(ours.accounts) == expected
    assert _flags(ours) == [(w, s) for _, w, s in _idl_flags(idl, "create")]


def test_create_v2_accounts_and_args(idl):
    mint, user, creator = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    instruction = ix.create_v2(
        mint=mint,
        user=user,
        creator=creator,
        name="N",
        symbol="S",
        uri="u",
        is_mayhem_mode=True,
        creator_fee_bps=250,
    )
    assert _flags(instruction) == [(w, s) for _, w, s in _idl_flags(idl, "create_v2")]
    keys = [m.pubkey for m in instruction.accounts]
    assert keys[3] == a.associated_bonding_curve(mint, a.TOKEN_2022_PROGRAM_ID)
    assert keys[7] == a.TOKEN_2022_PROGRAM_ID
    assert keys[9:14] == [
        a.MAYHEM_PROGRAM_ID,
        a.MAYHEM_GLOBAL_PARAMS,
        a.MAYHEM_SOL_VAULT,
        a.mayhem_state_pda(mint),
        a.mayhem_token_vault(mint),
    ]
    name, args = ix.decode_pump_instruction(bytes(instruction.data))
    assert name == "create_v2"
    assert args == ix.CreateV2Args("N", "S", "u", creator, True, False, 250, False)
    # name(4+1) symbol(4+1) uri(4+1) creator 32, then 1 + 1 + 8 + 1 option bytes
    assert len(instruction.data) == 8 + 15 + 32 + 11


def test_create_v2_data_without_trailing_options_decodes_with_defaults():
    instruction = ix.create_v2(
        mint=Pubkey.new_unique(),
        user=Pubkey.new_unique(),
        creator=Pubkey.new_unique(),
        name="a",
        symbol="b",
        uri="c",
        is_mayhem_mode=True,
    )
    short = bytes(instruction.data)[:-10]  # a Nov-2025 client: up to is_mayhem_mode
    _, args = ix.decode_pump_instruction(short)
    assert args.is_mayhem_mode is True
    assert (args.is_cashback_enabled, args.creator_fee_bps, args.is_holder_reward) == (
        False,
        0,
        False,
    )


def test_decode_pump_instruction_rejects_unknown_and_short_data():
    with pytest.raises(DecodeError):
        ix.decode_pump_instruction(bytes.fromhex("ea66c2cb96483ee5"))  # extend_account
    with pytest.raises(DecodeError):
        ix.decode_pump_instruction(b"\x66\x06")
    with pytest.raises(DecodeError):
        ix.decode_pump_instruction(bytes.fromhex("66063d1201daebea") + b"\0" * 10)
    with pytest.raises(DecodeError):
        ix.decode_pump_instruction(bytes(_buy().data)[:-1] + b"\x07")  # bool byte 7


def test_buy_exact_sol_in_round_trips():
    instruction = ix.buy_exact_sol_in(
        user=Pubkey.new_unique(),
        mint=Pubkey.new_unique(),
        creator=Pubkey.new_unique(),
        token_program=a.TOKEN_PROGRAM_ID,
        fee_recipient=a.FEE_RECIPIENTS[0],
        spendable_sol_in=123_456_789,
        min_tokens_out=42,
        track_volume=True,
    )
    assert bytes(instruction.data)[:8].hex() == "38fc74089edfcd5f"
    assert ix.decode_pump_instruction(bytes(instruction.data)) == (
        "buy_exact_sol_in",
        ix.BuyExactSolInArgs(123_456_789, 42, True),
    )


@pytest.mark.parametrize("token_program", [a.TOKEN_PROGRAM_ID, a.TOKEN_2022_PROGRAM_ID])
def test_idempotent_ata_creation_and_close_account(token_program):
    payer, owner, mint = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    create = ix.create_associated_token_account_idempotent(
        payer=payer, owner=owner, mint=mint, token_program=token_program
    )
    assert create.program_id == a.ASSOCIATED_TOKEN_PROGRAM_ID
    assert bytes(create.data) == b"\x01"
    ata = a.associated_token_address(owner, mint, token_program)
    assert list(create.accounts) == [
        AccountMeta(payer, is_signer=True, is_writable=True),
        AccountMeta(ata, is_signer=False, is_writable=True),
        AccountMeta(owner, is_signer=False, is_writable=False),
        AccountMeta(mint, is_signer=False, is_writable=False),
        AccountMeta(a.SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
        AccountMeta(token_program, is_signer=False, is_writable=False),
    ]
    close = ix.close_account(
        account=ata, destination=owner, owner=owner, token_program=token_program
    )
    assert close.program_id == token_program
    assert bytes(close.data) == b"\x09"
    assert [(m.is_writable, m.is_signer) for m in close.accounts] == [
        (True, False),
        (True, False),
        (False, True),
    ]


def test_router_tx_s03_uses_create_idempotent_data_and_compute_budget():
    tx = load_sample("s03_chainstack_blockSubscribe_router_buy_2025-05-13.json")
    message = VersionedTransaction.from_bytes(base64.b64decode(tx["transaction"][0])).message
    keys = message.account_keys
    budget = [
        ix.decode_compute_budget(bytes(i.data))
        for i in message.instructions
        if keys[i.program_id_index] == a.COMPUTE_BUDGET_PROGRAM_ID
    ]
    assert [kind for kind, _ in budget] == ["limit", "price"]
    limit = budget[0][1]
    assert tx["meta"]["computeUnitsConsumed"] <= limit


def test_router_tx_s03_inner_pump_buy_bought_the_events_amount():
    tx = load_sample("s03_chainstack_blockSubscribe_router_buy_2025-05-13.json")
    message = VersionedTransaction.from_bytes(base64.b64decode(tx["transaction"][0])).message
    keys = message.account_keys
    pump_index = keys.index(a.PUMP_PROGRAM_ID)
    inner = [
        i
        for group in tx["meta"]["innerInstructions"]
        for i in group["instructions"]
        if i["programIdIndex"] == pump_index and len(i["accounts"]) == 12
    ]
    (buy,) = inner  # the router's CPI into pump: the 12-account May-2025 buy
    name, args = ix.decode_pump_instruction(base58.b58decode(buy["data"]))
    assert name == "buy"
    assert args.amount == 5_032_051_139_663  # TradeEvent.token_amount of this tx
    assert args.max_sol_cost >= 297_300_000 + 2_824_350 + 148_650
    accounts = [keys[i] for i in buy["accounts"]]
    mint = accounts[2]
    assert accounts[3] == a.bonding_curve_pda(mint)
    assert accounts[4] == a.associated_bonding_curve(mint, a.TOKEN_PROGRAM_ID)
    creator = Pubkey.from_string("AjQw9LT4qLdhFSx5EpUnHtU5LwzCLtVjxx39VUpJsKAL")
    assert accounts[9] == a.creator_vault_pda(creator)


def test_compute_budget_bytes_round_trip():
    limit = ix.set_compute_unit_limit(100_000)
    assert limit.program_id == a.COMPUTE_BUDGET_PROGRAM_ID
    assert bytes(limit.data) == b"\x02" + (100_000).to_bytes(4, "little")
    price = ix.set_compute_unit_price(1_500_000)
    assert bytes(price.data) == b"\x03" + (1_500_000).to_bytes(8, "little")
    assert ix.decode_compute_budget(bytes(limit.data)) == ("limit", 100_000)
    assert ix.decode_compute_budget(bytes(price.data)) == ("price", 1_500_000)
    for bad in (b"", b"\x09", b"\x02\x00"):
        with pytest.raises(DecodeError):
            ix.decode_compute_budget(bad)


def test_2024_compute_budget_instructions_of_s01():
    tx = load_sample("s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json")["result"]
    decoded = [
        ix.decode_compute_budget(base58.b58decode(i["data"]))
        for i in tx["transaction"]["message"]["instructions"]
        if i["programId"] == str(a.COMPUTE_BUDGET_PROGRAM_ID)
    ]
    kinds = sorted(kind for kind, _ in decoded)
    assert kinds == ["limit", "price"]
    limit = dict(decoded)["limit"]
    assert tx["meta"]["computeUnitsConsumed"] <= limit


def _seed(seed: dict, known: dict[str, Pubkey], creator: Pubkey) -> bytes:
    """One IDL PDA seed: a constant, or the key of an account named by ``path``."""
    if seed["kind"] == "const":
        return bytes(seed["value"])
    if seed["kind"] == "account" and seed["path"] == "bonding_curve.creator":
        return bytes(creator)  # read from the curve account's data
    if seed["kind"] == "account":
        return bytes(known[seed["path"]])
    raise AssertionError(f"unexpected seed kind {seed}")


def _assert_matches_idl(idl: dict, name: str, instruction: Instruction, free: dict, creator):
    """Each IDL account, in IDL order: name → fixed address, PDA from the IDL's own seeds,
    or the caller-chosen key in ``free``; and the IDL's writable/signer flags."""
    (entry,) = [i for i in idl["instructions"] if i["name"] == name]
    accounts = entry["accounts"]
    metas = list(instruction.accounts)[: len(accounts)]
    assert len(metas) == len(accounts), f"{name}: {len(metas)} accounts, IDL has {len(accounts)}"
    known = {spec["name"]: meta.pubkey for spec, meta in zip(accounts, metas, strict=True)}
    for index, (spec, meta) in enumerate(zip(accounts, metas, strict=True)):
        where = f"{name} account {index} {spec['name']}"
        if "address" in spec:
            expected = Pubkey.from_string(spec["address"])
        elif "pda" in spec:
            pda = spec["pda"]
            program = a.PUMP_PROGRAM_ID
            if "program" in pda:
                program = Pubkey.from_bytes(_seed(pda["program"], known, creator))
            seeds = [_seed(s, known, creator) for s in pda["seeds"]]
            expected = Pubkey.find_program_address(seeds, program)[0]
        else:
            expected = free[spec["name"]]
        assert meta.pubkey == expected, where
        assert meta.is_writable == spec.get("writable", False), where
        assert meta.is_signer == spec.get("signer", False), where
    return len(accounts)


@pytest.mark.parametrize("token_program", [a.TOKEN_PROGRAM_ID, a.TOKEN_2022_PROGRAM_ID])
def test_trade_instructions_follow_the_idl_account_by_account(idl, token_program):
    user, mint, creator = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    common = {
        "user": user,
        "mint": mint,
        "creator": creator,
        "token_program": token_program,
        "fee_recipient": a.FEE_RECIPIENTS[2],
    }
    free = {
        "user": user,
        "mint": mint,
        "token_program": token_program,
        "fee_recipient": a.FEE_RECIPIENTS[2],
        "associated_user": a.associated_token_address(user, mint, token_program),
    }
    trailing = [
        AccountMeta(a.bonding_curve_v2_pda(mint), is_signer=False, is_writable=False),
        AccountMeta(a.BUYBACK_FEE_RECIPIENTS[0], is_signer=False, is_writable=True),
    ]
    built = {
        "buy": ix.buy(**common, amount=10, max_sol_cost=20),
        "buy_exact_sol_in": ix.buy_exact_sol_in(**common, spendable_sol_in=20, min_tokens_out=1),
        "sell": ix.sell(**common, amount=10, min_sol_output=1),
    }
    for name, instruction in built.items():
        n = _assert_matches_idl(idl, name, instruction, free, creator)
        assert list(instruction.accounts[n:]) == trailing, name
    cashback = ix.sell(**common, amount=10, min_sol_output=1, cashback=True)
    n = _assert_matches_idl(idl, "sell", cashback, free, creator)
    # the buy's IDL names the PDA the cashback sell passes as its extra account
    (buy_entry,) = [i for i in idl["instructions"] if i["name"] == "buy"]
    (uva,) = [x for x in buy_entry["accounts"] if x["name"] == "user_volume_accumulator"]
    seeds = [_seed(s, {"user": user}, creator) for s in uva["pda"]["seeds"]]
    uva_key = Pubkey.find_program_address(seeds, a.PUMP_PROGRAM_ID)[0]
    extra = AccountMeta(uva_key, is_signer=False, is_writable=True)
    assert list(cashback.accounts[n:]) == [extra, *trailing]


def test_create_instructions_follow_the_idl_account_by_account(idl):
    mint, user, creator = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    args = {"mint": mint, "user": user, "creator": creator, "name": "n", "symbol": "s", "uri": "u"}
    free = {
        "mint": mint,
        "user": user,
        "program": a.PUMP_PROGRAM_ID,
        "mayhem_token_vault": a.mayhem_token_vault(mint),
    }
    legacy = ix.create(**args)
    assert _assert_matches_idl(idl, "create", legacy, free, creator) == len(legacy.accounts)
    v2 = ix.create_v2(**args, is_cashback_enabled=True)
    assert _assert_matches_idl(idl, "create_v2", v2, free, creator) == len(v2.accounts)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: _buy(amount=-1), "u64 -1 does not fit"),
        (lambda: _buy(max_sol_cost=2**64), "does not fit in 64 bits"),
        (lambda: _sell(min_sol_output=-5), "u64 -5 does not fit"),
        (lambda: ix.set_compute_unit_limit(2**32), "u32 .* does not fit"),
        (lambda: ix.set_compute_unit_price(-1), "u64 -1 does not fit"),
    ],
)
def test_out_of_range_arguments_are_a_clear_value_error(build, match):
    with pytest.raises(ValueError, match=match):
        build()
