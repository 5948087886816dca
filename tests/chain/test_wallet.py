"""Wallet loading, and proof that the secret key never leaks."""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path

import base58
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from trio_trader.chain import Wallet, WalletError, build_transaction

logger = logging.getLogger("test.wallet")


def secret_forms(keypair: Keypair) -> list[str]:
    """Every spelling of the secret a leak could take."""
    raw = bytes(keypair)
    return [
        str(keypair),  # solders: base58 of the 64 bytes
        base58.b58encode(raw).decode(),
        base58.b58encode(raw[:32]).decode(),
        json.dumps(list(raw)),
        json.dumps(list(raw[:32]))[1:-1],  # the seed half inside a printed list
        raw[:32].hex(),
    ]


def assert_no_secret(text: str, keypair: Keypair) -> None:
    for form in secret_forms(keypair):
        assert form not in text


def test_keypair_file_round_trip(tmp_path: Path) -> None:
    keypair = Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    wallet = Wallet.from_keypair_file(path)
    assert wallet.pubkey == keypair.pubkey()
    assert bytes(wallet.keypair) == bytes(keypair)


def test_env_base58_seed_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    keypair = Keypair()
    monkeypatch.setenv("W64", base58.b58encode(bytes(keypair)).decode())
    monkeypatch.setenv("W32", base58.b58encode(keypair.secret()).decode())
    monkeypatch.setenv("WJSON", json.dumps(list(bytes(keypair))))
    for var in ("W64", "W32", "WJSON"):
        assert Wallet.from_env(var).pubkey == keypair.pubkey()


def test_generate_gives_distinct_wallets() -> None:
    assert Wallet.generate().pubkey != Wallet.generate().pubkey


def test_repr_str_and_logs_show_only_the_pubkey(caplog: pytest.LogCaptureFixture) -> None:
    wallet = Wallet.generate()
    caplog.set_level(logging.DEBUG)
    logger.debug("wallet %s %r %s", wallet, wallet, [wallet])
    text = f"{wallet} {wallet!r} {wallet!s} {[wallet]} {dict(w=wallet)}"
    assert repr(wallet) == f"Wallet({wallet.pubkey})"
    assert str(wallet) == str(wallet.pubkey)
    assert_no_secret(text, wallet.keypair)
    assert_no_secret(caplog.text, wallet.keypair)
    assert str(wallet.pubkey) in caplog.text


def _error_text(exc: BaseException) -> str:
    """Everything a crash report would print, chained exceptions and their attributes included."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts.append(repr(vars(seen)) if hasattr(seen, "__dict__") else "")
        parts.append(repr(seen.args))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda raw: json.dumps(list(raw))[:-1],  # truncated JSON (JSONDecodeError keeps .doc)
        lambda raw: json.dumps(list(raw[:40])),  # wrong length
        lambda raw: json.dumps([*list(raw[:63]), 256]),  # out-of-range byte
        lambda raw: json.dumps(list(raw[:32]) + list(bytes(Keypair().pubkey()))),  # wrong pubkey
        lambda raw: json.dumps({"secret": list(raw)}),  # not an array
    ],
)
def test_malformed_keypair_file_error_never_echoes_contents(
    tmp_path: Path, corrupt: object, caplog: pytest.LogCaptureFixture
) -> None:
    keypair = Keypair()
    path = tmp_path / "id.json"
    path.write_text(corrupt(bytes(keypair)))  # type: ignore[operator]
    with pytest.raises(WalletError) as info:
        Wallet.from_keypair_file(path)
    logger.exception("loading failed", exc_info=info.value)
    assert str(path) in str(info.value)
    assert_no_secret(_error_text(info.value), keypair)
    assert_no_secret(caplog.text, keypair)


def test_malformed_env_error_never_echoes_value(monkeypatch: pytest.MonkeyPatch) -> None:
    keypair = Keypair()
    secret = base58.b58encode(bytes(keypair)).decode()
    monkeypatch.setenv("BAD", secret[:-3] + "0OI")  # not base58 any more
    monkeypatch.setenv("SHORT", secret[:60])
    for var in ("BAD", "SHORT"):
        with pytest.raises(WalletError, match=var) as info:
            Wallet.from_env(var)
        assert_no_secret(_error_text(info.value), keypair)
        assert secret[:20] not in str(info.value)
    with pytest.raises(WalletError, match="is not set"):
        Wallet.from_env("TRIO_TRADER_SURELY_UNSET")


def test_missing_file_is_a_wallet_error(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="cannot read"):
        Wallet.from_keypair_file(tmp_path / "nope.json")


def test_build_transaction_is_a_signed_v0_transaction() -> None:
    payer, other = Keypair(), Keypair()
    blockhash = Hash.new_unique()
    instructions = [
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=other.pubkey(), lamports=5)),
        transfer(TransferParams(from_pubkey=other.pubkey(), to_pubkey=payer.pubkey(), lamports=1)),
    ]
    signed = build_transaction(
        instructions, payer, blockhash, [other, payer], last_valid_block_height=99
    )
    tx = VersionedTransaction.from_bytes(signed.raw)
    assert tx.verify_with_results() == [True, True]
    assert tx.signatures[0] == signed.signature
    assert tx.message.account_keys[0] == payer.pubkey()
    assert tx.message.recent_blockhash == blockhash
    assert signed.raw[0] == 2  # two signatures, compact-u16
    assert signed.raw[1 + 64 * 2] == 0x80  # the v0 message prefix
    assert (signed.blockhash, signed.last_valid_block_height) == (blockhash, 99)
    assert "bytes>" in repr(signed)  # the raw bytes are not dumped into logs


def test_single_signer_fast_path_gives_the_generic_bytes() -> None:
    """A BUY/SELL is signed with one keypair through the fast path; its bytes must be exactly
    what solders' generic constructor produces (ed25519 signatures are deterministic)."""
    payer = Keypair()
    blockhash = Hash.new_unique()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=7)
    )
    signed = build_transaction([ix], payer, blockhash)
    message = MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash)
    generic = VersionedTransaction(message, [payer])
    assert signed.raw == bytes(generic)  # the wire bytes are written by hand on this path
    assert signed.signature == generic.signatures[0]
    assert VersionedTransaction.from_bytes(signed.raw).verify_with_results() == [True]


def test_build_transaction_missing_signer_is_value_error() -> None:
    payer, other = Keypair(), Keypair()
    ix = transfer(TransferParams(from_pubkey=other.pubkey(), to_pubkey=payer.pubkey(), lamports=1))
    with pytest.raises(ValueError, match="not enough signers"):
        build_transaction([ix], payer, Hash.new_unique())
    with pytest.raises(ValueError, match="at least one instruction"):
        build_transaction([], payer, Hash.new_unique())


@pytest.mark.skipif(os.name != "posix", reason="POSIX mode bits")
@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o400, False), (0o644, True)])
def test_keypair_file_readable_by_others_is_warned_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    keypair = Keypair()
    path = tmp_path / f"id-{mode:o}.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="trio_trader.chain.wallet"):
        first = Wallet.from_keypair_file(path)
        second = Wallet.from_keypair_file(path)
    assert first.pubkey == second.pubkey == keypair.pubkey()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    if warned:
        (record,) = warnings  # once, however often the file is loaded
        assert str(path) in record.getMessage()
        assert "0644" in record.getMessage()
    else:
        assert warnings == []
    assert_no_secret(caplog.text, keypair)


@pytest.mark.skipif(os.name != "posix", reason="POSIX mode bits")
def test_group_writable_keypair_file_is_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keypair = Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(0o620)
    with caplog.at_level(logging.WARNING, logger="trio_trader.chain.wallet"):
        Wallet.from_keypair_file(path)
    assert "mode 0620" in caplog.text
    assert_no_secret(caplog.text, keypair)
