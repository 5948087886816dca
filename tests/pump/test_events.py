"""Event decoding from real log lines and self-CPI data, and invoke-stack-aware parse_logs."""

from __future__ import annotations

import base64

import attrs
import base58
import pytest
from solders.pubkey import Pubkey

from tests.conftest import load_sample
from trio_trader.pump import DecodeError
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, TOKEN_2022_PROGRAM_ID
from trio_trader.pump.events import (
    EVENT_CPI_TAG,
    CompleteEvent,
    CreateEvent,
    Shareholder,
    TradeEvent,
    decode_event,
    encode_event,
    parse_logs,
)

PUMP = str(PUMP_PROGRAM_ID)
PK = Pubkey.from_string


def _pump_cpi_data(inner: list[dict]) -> list[bytes]:
    """Self-CPI instruction data (base58 in jsonParsed getTransaction) of the pump program."""
    return [
        base58.b58decode(ix["data"])
        for group in inner
        for ix in group["instructions"]
        if ix.get("programId") == PUMP
    ]


def _log_payloads(logs: list[str]) -> list[bytes]:
    return [base64.b64decode(x.removeprefix("Program data: ")) for x in logs if "data:" in x]


def test_2024_buy_and_sell_s01_from_logs():
    tx = load_sample("s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json")["result"]
    buy, sell = parse_logs(tx["meta"]["logMessages"])
    mint = PK("HfJVjBdkhAD2ynVM8PdTSii4ECZdsxNTCx5wpEqUpump")
    user = PK("2vr538qDgHCPYmr2mjt5LSjQ3kBYjtw3SDSveUKBVkef")
    assert isinstance(buy, TradeEvent)
    assert isinstance(sell, TradeEvent)
    assert (buy.mint, buy.user, buy.is_buy) == (mint, user, True)
    assert (buy.sol_amount, buy.token_amount) == (24_080_282, 605_426_095_720)
    assert (sell.sol_amount, sell.token_amount, sell.is_buy) == (24_080_281, 605_426_095_720, False)
    assert buy.timestamp == tx["blockTime"]
    assert buy.real_token_reserves == 619_419_782_120_301
    # The token transfer of the buy moved exactly token_amount.
    transfer = tx["meta"]["innerInstructions"][0]["instructions"][0]["parsed"]["info"]
    assert int(transfer["amount"]) == buy.token_amount
    # 129-byte 2024 layout: everything from fee_recipient on is absent.
    assert buy.fee_recipient is None
    assert buy.creator is None
    assert buy.ix_name is None
    assert len(encode_event(buy)) == 129


def test_self_cpi_data_decodes_to_the_same_events_as_the_logs():
    tx = load_sample("s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json")["result"]
    cpi = _pump_cpi_data(tx["meta"]["innerInstructions"])
    assert [d[:8] for d in cpi] == [EVENT_CPI_TAG, EVENT_CPI_TAG]
    from_cpi = [decode_event(d) for d in cpi]
    assert from_cpi == parse_logs(tx["meta"]["logMessages"])
    assert [d[8:] for d in cpi] == _log_payloads(tx["meta"]["logMessages"])


def test_2024_create_then_buy_s02():
    tx = load_sample("s02_chainstack_getTransaction_create_then_buy_2024-08-20.json")["result"]
    events = parse_logs(tx["meta"]["logMessages"])
    create, buy = events
    assert isinstance(create, CreateEvent)
    assert (create.name, create.symbol) == ("excited", "excited")
    assert create.uri.startswith("https://cf-ipfs.com/ipfs/Qm")
    assert create.mint == PK("ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp")
    assert create.bonding_curve == PK("FFzxakVNzpirwMFtLyD22UZ6UM3KLF2EAGC2RxNPaYoH")
    assert create.user == PK("Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5")
    assert create.creator is None
    assert create.timestamp is None
    assert isinstance(buy, TradeEvent)
    assert buy.mint == create.mint
    assert buy.user == create.user
    # The creator's buy on a fresh curve: 1.1 SOL in, reserves moved off the initial values.
    assert buy.sol_amount == 1_100_000_000
    assert buy.virtual_sol_reserves == 30_000_000_000 + buy.sol_amount
    assert buy.virtual_token_reserves == 1_073_000_000_000_000 - buy.token_amount
    assert _pump_cpi_data(tx["meta"]["innerInstructions"])[0][8:] == encode_event(create)


def test_router_buy_s03_pump_inside_another_program():
    tx = load_sample("s03_chainstack_blockSubscribe_router_buy_2025-05-13.json")
    (ev,) = parse_logs(tx["meta"]["logMessages"])
    assert isinstance(ev, TradeEvent)
    assert ev.mint == PK("5eFg3giaX2c3RydHvx1S3yEKpYjBuwtLUsmbAAG9pump")
    assert ev.user == PK("8ZZ97eWp2k8gfoK2Jk2WQcdofk9hyJpEGDPGiqFryH1S")
    assert (ev.sol_amount, ev.token_amount) == (297_300_000, 5_032_051_139_663)
    # The user's new token account holds exactly what the event says was bought.
    post = tx["meta"]["postTokenBalances"]
    bought = next(int(b["uiTokenAmount"]["amount"]) for b in post if b["owner"] == str(ev.user))
    assert bought == ev.token_amount
    assert (ev.fee_basis_points, ev.fee) == (95, 2_824_350)
    assert (ev.creator_fee_basis_points, ev.creator_fee) == (5, 148_650)
    assert ev.creator == PK("AjQw9LT4qLdhFSx5EpUnHtU5LwzCLtVjxx39VUpJsKAL")
    assert ev.track_volume is None  # 225-byte May-2025 layout ends at creator_fee
    assert len(encode_event(ev)) == 225
    # The inner self-CPI (compiled form, base58) carries the same event.
    cpi = [
        base58.b58decode(ix["data"])
        for group in tx["meta"]["innerInstructions"]
        for ix in group["instructions"]
        if base58.b58decode(ix["data"])[:8] == EVENT_CPI_TAG
    ]
    assert [decode_event(d) for d in cpi] == [ev]


@pytest.mark.parametrize(
    ("log_name", "json_name", "is_buy", "ix_name", "length"),
    [
        (
            "s09_vixen_buy_program_data.log",
            "s09_vixen_buy_token2022_2026-02-09.json",
            True,
            "buy",
            266,
        ),
        (
            "s10_vixen_sell_program_data.log",
            "s10_vixen_sell_token2022_2026-02-09.json",
            False,
            "sell",
            267,
        ),
    ],
)
def test_2026_events_from_logs_and_inner_instructions(log_name, json_name, is_buy, ix_name, length):
    line = load_sample(log_name).strip()
    payload = base64.b64decode(line.removeprefix("Program data: "))
    assert len(payload) == length
    ev = decode_event(payload)
    assert isinstance(ev, TradeEvent)
    assert (ev.is_buy, ev.ix_name, ev.mayhem_mode, ev.track_volume) == (
        is_buy,
        ix_name,
        False,
        False,
    )
    assert (ev.fee_basis_points, ev.creator_fee_basis_points) == (95, 30)
    assert ev.fee_recipient == PK("62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV")
    assert ev.cashback_fee_basis_points is None
    assert ev.shareholders is None
    assert encode_event(ev) == payload
    sample = load_sample(json_name)
    trade_ix, cpi_ix = sample["instructions"]
    assert decode_event(bytes(cpi_ix["data"])) == ev
    keys = [Pubkey.from_bytes(bytes(k)) for k in trade_ix["accounts"]]
    assert ev.mint == keys[2]
    assert ev.user == keys[6]


def test_parse_logs_ignores_program_data_of_other_programs():
    buy_line = load_sample("s09_vixen_buy_program_data.log").strip()
    other = "LaunchLab1111111111111111111111111111111111"
    logs = [
        f"Program {other} invoke [1]",
        buy_line,  # same TradeEvent discriminator, but printed by another program
        f"Program {PUMP} invoke [2]",
        "Program log: Instruction: Buy",
        buy_line,
        f"Program {PUMP} consumed 2003 of 85557 compute units",
        f"Program {PUMP} success",
        buy_line,  # back in the other program's frame
        f"Program {other} success",
        buy_line,  # outside any frame
    ]
    events = parse_logs(logs)
    assert len(events) == 1
    assert events[0].sol_amount == 50_051_224


def test_parse_logs_pops_failed_frames_and_skips_junk():
    buy_line = load_sample("s09_vixen_buy_program_data.log").strip()
    logs = [
        f"Program {PUMP} invoke [1]",
        "Program data: !!!not base64!!!",
        "Program data: " + base64.b64encode(b"\x01" * 8 + b"x").decode(),  # unknown event
        "Program data: " + base64.b64encode(TradeEvent.DISCRIMINATOR + b"\0" * 5).decode(),
        f"Program {PUMP} failed: custom program error: 0x1773",
        buy_line,
        f"Program {PUMP} invoke [1]",
        buy_line,
        f"Program {PUMP} success",
    ]
    assert len(parse_logs(logs)) == 1
    assert parse_logs([]) == []


def test_parse_logs_recovers_when_a_frame_end_is_missing():
    buy_line = load_sample("s09_vixen_buy_program_data.log").strip()
    logs = [
        "Program Other11111111111111111111111111111111111 invoke [1]",
        f"Program {PUMP} invoke [2]",
        # the node truncated pump's success line and the outer program's end
        f"Program {PUMP} invoke [1]",
        buy_line,
        f"Program {PUMP} success",
    ]
    assert len(parse_logs(logs)) == 1


def _full_trade() -> TradeEvent:
    k = Pubkey.new_unique
    return TradeEvent(
        k(),
        1,
        2,
        True,
        k(),
        3,
        4,
        5,
        6,
        7,
        k(),
        95,
        8,
        k(),
        30,
        9,
        True,
        10,
        11,
        12,
        13,
        "buy_exact_sol_in",
        True,
        14,
        15,
        16,
        17,
        (Shareholder(k(), 5000), Shareholder(k(), 5000)),
        k(),
        18,
        19,
        20,
        21,
        22,
        23,
    )


def test_newest_trade_event_round_trips_with_shareholders():
    ev = _full_trade()
    data = encode_event(ev)
    assert decode_event(data) == ev
    assert decode_event(EVENT_CPI_TAG + data) == ev
    # Unknown trailing bytes (a future upgrade) are ignored.
    assert decode_event(data + b"\x99" * 10) == ev


def test_encode_stops_at_the_first_none_and_decode_returns_it():
    ev = attrs.evolve(_full_trade(), mayhem_mode=None)
    decoded = decode_event(encode_event(ev))
    assert decoded.ix_name == "buy_exact_sol_in"
    assert decoded.mayhem_mode is None
    assert decoded.holder_rewards is None


def test_create_v2_and_complete_events_round_trip():
    k = Pubkey.new_unique
    create = CreateEvent(
        "Name",
        "SYM",
        "https://x/y",
        k(),
        k(),
        k(),
        k(),
        1_700_000_000,
        1_073_000_000_000_000,
        30_000_000_000,
        793_100_000_000_000,
        10**15,
        TOKEN_2022_PROGRAM_ID,
        True,
    )
    assert decode_event(encode_event(create)) == create
    assert decode_event(encode_event(create)).is_cashback_enabled is None
    complete = CompleteEvent(k(), k(), k(), 1_700_000_001)
    assert len(encode_event(complete)) == 8 + 32 * 3 + 8
    assert decode_event(encode_event(complete)) == complete


def test_truncated_or_foreign_event_bytes_raise_decode_error():
    data = encode_event(_full_trade())
    # no discriminator, inside the 2024 fields, inside ix_name, inside the last u64
    for cut in (0, 7, 8, 100, 128, 262, len(data) - 1):
        with pytest.raises(DecodeError):
            decode_event(data[:cut])
    with pytest.raises(DecodeError, match="not a pump"):
        decode_event(bytes.fromhex("bde95db95c94ea94") + b"\0" * 64)  # migration event


# Each historical TradeEvent layout: (fields it holds, ix_name, payload length with the
# discriminator). PROTOCOL §6.2: 2024 → 129, May-2025 → 225, Aug-2025 → 258, Oct-2025
# adds ix_name, Feb-2026 adds mayhem_mode (266 for "buy", 267 for "sell"), then cashback,
# buyback, shareholders (a vec), the quote fields and the 2026-09 holder rewards.
TRADE_LAYOUTS = [
    pytest.param(10, "buy", 129, id="2024-129"),
    pytest.param(16, "buy", 225, id="2025-05-225"),
    pytest.param(21, "buy", 258, id="2025-08-258"),
    pytest.param(22, "buy_exact_sol_in", 258 + 4 + 16, id="2025-10-ix_name"),
    pytest.param(23, "buy", 266, id="2026-02-buy-266"),
    pytest.param(23, "sell", 267, id="2026-02-sell-267"),
    pytest.param(25, "sell", 267 + 16, id="cashback"),
    pytest.param(27, "sell", 267 + 32, id="buyback"),
    pytest.param(28, "sell", 267 + 32 + 4 + 2 * 34, id="shareholders"),
    pytest.param(32, "sell", 267 + 32 + 4 + 2 * 34 + 56, id="quote-fields"),
    pytest.param(34, "sell", 267 + 32 + 4 + 2 * 34 + 56 + 16, id="holder-rewards"),
    pytest.param(35, "sell", 267 + 32 + 4 + 2 * 34 + 56 + 24, id="2026-10-unknown-u64"),
]


@pytest.mark.parametrize(("ix_name", "before", "after"), [("buy", 374, 382), ("sell", 375, 383)])
def test_2026_09_and_2026_10_trade_events_have_mainnet_lengths(ix_name, before, after):
    """No shareholders: 2026-09-12 events are 374/375 B, the 2026-10-02 ones 382/383 B."""
    newest = attrs.evolve(_full_trade(), ix_name=ix_name, is_buy=ix_name == "buy", shareholders=())
    assert len(encode_event(newest)) == after
    older = attrs.evolve(newest, unknown_u64_0=None)
    assert len(encode_event(older)) == before
    assert decode_event(encode_event(older)) == older
    assert decode_event(encode_event(newest)).unknown_u64_0 == 23


# A real 383-byte sell event of 2026-10-05 (slot 453,609,715, tx 61x6SRWN…e4NiAg), the
# "Program data:" line of aquecerandroi-oss/project-hunter's public fixture
# t48e_rpc_tx_sell_61x6SRWNuLhg_raw.json, logged after the fee program's
# GetFeesWithQuoteMint CPI returned lp/protocol/creator = 0/95/30 bps.
_SELL_383 = (
    "vdt/007mYe4k/08h5PIn4BX8C0eq3NFqMfC+GvUYIDci2jBS8IwXPyOfsA8AAAAAjoWD4i0HAAAACXItz+KIMBHp"
    "TC/GxcQAuKN83ScynO7ddRXH7J18H6m6t8NqAAAAALnXCJkHAAAAcs3jFyuBAwC5K+WcAAAAAHI10cuZggIArRHm"
    "pPwpRKT6glG++BVCbhv7KMa2ZGZ3YHxq2fVmpkZfAAAAAAAAAG0oJgAAAAAAEzip9OFyqUSeLCahziZwP1H0/LAi"
    "ELwUOeCes02ve4oeAAAAAAAAAMQMDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAHNl"
    "bGwAAAAAAAAAAAAAAAAAAAAAAIgTAAAAAAAANhQTAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAjn7APAAAAALnXCJkHAAAAuSvlnAAAAAAAAAAAAAAAAAAAAAAAAAAA524JAAAAAAA="
)


def test_real_383_byte_sell_event_of_2026_10_decodes_to_its_last_byte():
    data = base64.b64decode(_SELL_383)
    assert len(data) == 383
    logs = [f"Program {PUMP} invoke [1]", "Program data: " + _SELL_383, f"Program {PUMP} success"]
    (ev,) = parse_logs(logs)
    assert isinstance(ev, TradeEvent)
    assert (ev.ix_name, ev.is_buy) == ("sell", False)
    assert ev.mint == PK("3VRUUqPDAGf8QATfFS2xRxGEKZBaKUCPND5UCQkvpump")
    assert (ev.sol_amount, ev.token_amount) == (263_233_315, 7_893_655_192_974)
    assert (ev.fee_basis_points, ev.fee, ev.creator_fee_basis_points, ev.creator_fee) == (
        95,
        2_500_717,
        30,
        789_700,
    )
    assert (ev.buyback_fee_basis_points, ev.buyback_fee) == (5_000, 1_250_358)
    assert ev.quote_amount == ev.sol_amount
    assert ev.quote_mint == PK("11111111111111111111111111111111")
    assert (ev.holder_rewards_bps, ev.holder_rewards) == (0, 0)
    assert ev.unknown_u64_0 == 618_215
    assert encode_event(ev) == data  # every byte is a known field


@pytest.mark.parametrize(("present", "ix_name", "length"), TRADE_LAYOUTS)
def test_every_historical_trade_event_layout_decodes_its_fields(present, ix_name, length):
    newest = attrs.evolve(_full_trade(), ix_name=ix_name, is_buy=ix_name != "sell")
    names = [f.name for f in attrs.fields(TradeEvent)]
    data = encode_event(newest)[:length]
    assert len(data) == length
    ev = decode_event(data)
    assert isinstance(ev, TradeEvent)
    got, want = attrs.asdict(ev, recurse=False), attrs.asdict(newest, recurse=False)
    assert {n: got[n] for n in names[:present]} == {n: want[n] for n in names[:present]}
    assert {n: got[n] for n in names[present:]} == dict.fromkeys(names[present:])
    # the same layout reached through the log line and the self-CPI
    line = "Program data: " + base64.b64encode(data).decode()
    assert parse_logs([f"Program {PUMP} invoke [1]", line, f"Program {PUMP} success"]) == [ev]
    assert decode_event(EVENT_CPI_TAG + data) == ev


def test_trade_event_cut_inside_a_variable_length_field_is_an_error():
    data = encode_event(_full_trade())
    ix_start = 258 + 4  # after ix_name's u32 length
    shareholders_at = ix_start + len("buy_exact_sol_in") + 1 + 32
    for cut in (ix_start - 2, ix_start + 3, shareholders_at + 2, shareholders_at + 4 + 33):
        with pytest.raises(DecodeError):
            decode_event(data[:cut])


@pytest.mark.parametrize(
    ("present", "what"),
    [(6, "2024"), (12, "2025-05"), (14, "2025-11 create_v2"), (19, "2026-09")],
)
def test_legacy_and_v2_create_event_layouts(present, what):
    k = Pubkey.new_unique
    newest = CreateEvent(
        "Name", "SYM", "https://x/y", k(), k(), k(), k(), 1_700_000_000,
        1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 10**15,
        TOKEN_2022_PROGRAM_ID, True, True, k(), 30_000_000_000, 250, True,
    )  # fmt: skip
    names = [f.name for f in attrs.fields(CreateEvent)]
    old = attrs.evolve(newest, **dict.fromkeys(names[present:]))
    data = encode_event(old)
    assert encode_event(newest).startswith(data), what
    assert decode_event(data) == old
    assert decode_event(encode_event(newest)[: len(data)]) == old


def _trade_line(ev: TradeEvent) -> str:
    return "Program data: " + base64.b64encode(encode_event(ev)).decode()


def test_parse_logs_keeps_pump_events_inside_a_router_and_drops_look_alikes():
    """Built from bytes, so it runs without the mainnet samples.

    A router (depth 1) CPIs into pump (depth 2), which CPIs into the fee program and
    into itself for the event; a look-alike TradeEvent (same discriminator) is printed by
    the router, by the fee program inside pump's frame and by a later program.
    """
    router, fee = (
        "b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1",
        "pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ",
    )
    real = attrs.evolve(_full_trade(), sol_amount=111)
    fake = attrs.evolve(_full_trade(), sol_amount=999)
    logs = [
        "Program ComputeBudget111111111111111111111111111111 invoke [1]",
        "Program ComputeBudget111111111111111111111111111111 success",
        f"Program {router} invoke [1]",
        _trade_line(fake),
        f"Program {PUMP} invoke [2]",
        "Program log: Instruction: Buy",
        f"Program {fee} invoke [3]",
        "Program log: Instruction: GetFees",
        _trade_line(fake),
        f"Program {fee} consumed 3000 of 60000 compute units",
        f"Program return: {fee} AAAAAAAAAABfAAAAAAAAAB4AAAAAAAAA",
        f"Program {fee} success",
        _trade_line(real),
        f"Program {PUMP} invoke [3]",
        f"Program {PUMP} consumed 2006 of 33261 compute units",
        f"Program {PUMP} success",
        f"Program {PUMP} consumed 40072 of 70491 compute units",
        f"Program {PUMP} success",
        _trade_line(fake),
        f"Program {router} success",
        f"Program {router} invoke [1]",
        _trade_line(fake),
        f"Program {router} failed: custom program error: 0x1",
    ]
    assert parse_logs(logs) == [real]


def test_parse_logs_keeps_the_order_of_create_trade_and_complete():
    k = Pubkey.new_unique
    create = CreateEvent("a", "b", "c", k(), k(), k())
    trade = _full_trade()
    complete = CompleteEvent(k(), k(), k(), 5)
    lines = ["Program data: " + base64.b64encode(encode_event(e)).decode()
             for e in (create, trade, complete)]  # fmt: skip
    logs = [f"Program {PUMP} invoke [1]", *lines, f"Program {PUMP} success"]
    assert parse_logs(logs) == [create, trade, complete]
