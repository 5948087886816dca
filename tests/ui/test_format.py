"""Numbers a person reads: exact SOL and token amounts, and endpoints with their keys masked."""

from __future__ import annotations

from fractions import Fraction

import pytest

from trio_trader.ui import format as fmt


@pytest.mark.parametrize(
    ("lamports", "signed", "text"),
    [
        (50_000_000, False, "0.05 SOL"),
        (10 * 10**9, False, "10.00 SOL"),
        (-5_000, True, "-0.000005 SOL"),
        (8_010_903, True, "+0.008010903 SOL"),
        (0, True, "+0.00 SOL"),
        (None, False, "-"),
        # beyond a float's 53 bits: still exact to the lamport
        (2**60 + 1, False, "1152921504.606846977 SOL"),
    ],
)
def test_sol_is_exact_with_its_decimals(lamports: int | None, signed: bool, text: str) -> None:
    assert fmt.sol(lamports, signed=signed) == text


@pytest.mark.parametrize(
    ("amount", "decimals", "text"),
    [
        (1_697_069_681_946, 6, "1,697,069.681946"),
        (1_000_000, 6, "1"),
        (1_500_000, 6, "1.5"),
        (-25, 2, "-0.25"),
        (123_456, 0, "123,456"),
        (None, 6, "-"),
    ],
)
def test_tokens_use_the_mints_decimals(amount: int | None, decimals: int, text: str) -> None:
    assert fmt.tokens(amount, decimals) == text


def test_pnl_price_pct_and_age_for_display() -> None:
    assert fmt.pnl(12_000_000, 50_000_000) == "+0.012 SOL (+24.0 %)"
    assert fmt.pnl(-5_000, 0) == "-0.000005 SOL"
    assert fmt.pnl(None, 1) == "unknown"
    # 30 SOL over 1,073,000,000 tokens of 6 decimals: 2.796e-08 SOL per whole token
    assert fmt.price(Fraction(30 * 10**9, 1_073_000_000 * 10**6), 6) == "2.796e-08"
    assert fmt.pct(-8.06) == "-8.1 %"
    assert [fmt.age(s) for s in (4.25, 75, 3725, -1)] == ["4.2s", "1m15s", "1h02m", "0.0s"]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://mainnet.helius-rpc.com/?api-key=0b7c2f3e-1a2b-4c5d-9e8f-123456789abc",
            "https://mainnet.helius-rpc.com/?api-key=***",
        ),
        (
            "https://example.solana-mainnet.quiknode.pro/4f1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b/",
            "https://example.solana-mainnet.quiknode.pro/***/",
        ),
        (
            "wss://user:hunter2@rpc.example.com/ws?token=abc&commitment=processed",
            "wss://***@rpc.example.com/ws?token=***&commitment=processed",
        ),
        ("https://api.mainnet-beta.solana.com", "https://api.mainnet-beta.solana.com"),
        ("http://127.0.0.1:8899/v1/rpc", "http://127.0.0.1:8899/v1/rpc"),
    ],
)
def test_mask_url_hides_credentials_and_keeps_routes(url: str, masked: str) -> None:
    assert fmt.mask_url(url) == masked


def test_urls_inside_a_message_are_masked() -> None:
    line = "failing over to RPC endpoint https://x.io/?api-key=SECRETKEY123abc; then (ws://a/b)"
    out = fmt.mask_urls_in(line)
    assert "SECRETKEY123abc" not in out
    assert out == "failing over to RPC endpoint https://x.io/?api-key=***; then (ws://a/b)"
