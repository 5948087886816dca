"""A database belongs to one wallet on one cluster (``meta``, migration 0003)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.store.factories import make_token_info
from trio_trader.store import IdentityMismatch, open_repository
from trio_trader.store._migrations import apply_migrations, load_migrations
from trio_trader.trading.position import Position

WALLET_A = "Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5"
WALLET_B = "6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF"
MAINNET = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"
DEVNET = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG"


def clock() -> float:
    return 1_780_000_000.0


async def test_first_claim_writes_the_identity_and_later_ones_must_match(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with open_repository(db, now=clock) as repo:
        assert await repo.get_meta() == {}
        await repo.claim_identity(wallet=WALLET_A, genesis_hash=MAINNET)
        assert await repo.get_meta() == {"wallet": WALLET_A, "genesis_hash": MAINNET}
    async with open_repository(db, now=clock) as repo:
        await repo.claim_identity(wallet=WALLET_A, genesis_hash=MAINNET)  # same: accepted
        assert await repo.get_meta() == {"wallet": WALLET_A, "genesis_hash": MAINNET}


@pytest.mark.parametrize(
    ("wallet", "genesis"), [(WALLET_B, MAINNET), (WALLET_A, DEVNET), (WALLET_B, DEVNET)]
)
async def test_another_wallet_or_cluster_is_refused_naming_both(
    tmp_path: Path, wallet: str, genesis: str
) -> None:
    db = tmp_path / "bot.db"
    async with open_repository(db, now=clock) as repo:
        await repo.claim_identity(wallet=WALLET_A, genesis_hash=MAINNET)
        with pytest.raises(IdentityMismatch) as info:
            await repo.claim_identity(wallet=wallet, genesis_hash=genesis)
        message = str(info.value)
        for value in {WALLET_A, MAINNET, wallet, genesis}:
            assert value in message
        # nothing was overwritten, and the database still reads (report / positions)
        assert await repo.get_meta() == {"wallet": WALLET_A, "genesis_hash": MAINNET}
        position_id = await repo.insert_position(Position.create_from_token_info(make_token_info()))
        assert [p.id for p in await repo.list_positions()] == [position_id]


async def test_a_database_from_before_0003_gets_an_empty_meta_table(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    try:
        apply_migrations(conn, now=clock, target=2)
    finally:
        conn.close()
    assert [m.version for m in load_migrations()][-1] >= 3
    async with open_repository(db, now=clock) as repo:
        assert await repo.get_meta() == {}
        await repo.claim_identity(wallet=WALLET_B, genesis_hash=DEVNET)
        assert await repo.get_meta() == {"wallet": WALLET_B, "genesis_hash": DEVNET}
