"""The simulator's synchronous, deterministic ledger: LiteSVM + the pump program in Python.

How a transaction runs (:meth:`Ledger.execute`):

1. **Checks that reject** (nothing recorded, :class:`TransactionRejected`): the message
   sanitizes, every signature verifies (solders ``verify_with_results``), no address
   lookup tables (the sim has none), valid compute-budget instructions, and the fee payer
   exists and can pay the fee without dropping below rent exemption. The blockhash is the
   Node's business, not the ledger's.
2. **Fee**: 5000 lamports per signature + ``ceil(cu_price · cu_limit / 1e6)``, where the
   limit is the ``SetComputeUnitLimit`` value or 200,000 per non-compute-budget instruction
   (capped at 1.4M). It moves from the fee payer to :attr:`Ledger.fee_collector` (the
   sim's validator; nothing is burned), so the lamports of all accounts are conserved.
3. **Instructions**, in order. Compute-budget ones only log. Pump ones run in Python
   (:mod:`.pump_program`), making real CPIs into the token/system/ATA programs through
   LiteSVM. Every other one runs as a one-instruction LiteSVM transaction (see
   :mod:`._svm`: sigverify off, sim-owned fee sponsor whose balance is reset, remaining
   compute budget passed on), so the System, SPL Token, Token-2022, ATA programs are real.
4. **Atomicity**: every account the message references (and the fee collector) is
   snapshotted before step 2. When an instruction fails, or an account ends the
   transaction below rent exemption (``InsufficientFundsForRent``), all of them are
   restored and only the fee is charged again.
5. **Record**: err in the RPC's JSON shape, logs, fee, pre/post SOL and token balances,
   compute units, inner instructions, decoded pump events.

:meth:`Ledger.simulate` runs the same steps and then restores the snapshot.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import attrs
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from trio_trader.pump import addresses as A
from trio_trader.pump.accounts import BondingCurve, DecodeError, FeeConfig, Global
from trio_trader.pump.amm.accounts import GlobalConfig, Pool
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.pump.instructions import (
    create_associated_token_account_idempotent,
    decode_compute_budget,
)

from . import amm_program, pump_program
from ._amm_genesis import QUOTE_FAUCET
from ._genesis import genesis_fee_config, genesis_global, install_genesis
from ._invoke import InvokeContext, ProgramFailure, SimEvent, TransactionLevelFailure
from ._svm import SvmRunner, with_lamports
from ._tokens import (
    TOKEN_PROGRAMS,
    mint_decimals,
    parse_token_account,
    token_balance_json,
)

__all__ = ["ExecutedTransaction", "Ledger", "TransactionRejected"]

logger = logging.getLogger(__name__)

LAMPORTS_PER_SIGNATURE = 5000
DEFAULT_CU_PER_INSTRUCTION = 200_000
MAX_CU = 1_400_000
_COMPUTE_BUDGET_CU = 150


class TransactionRejected(Exception):
    """The transaction cannot land (bad signature, fee payer cannot pay …).

    Nothing is recorded and no fee is charged; ``err`` is the JSON error a node's
    preflight would report (``"SignatureFailure"``, ``"InsufficientFundsForFee"``,
    ``"AccountNotFound"`` …).
    """

    def __init__(self, err: object, detail: str = "") -> None:
        super().__init__(f"{err}{': ' + detail if detail else ''}")
        self.err = err


@attrs.frozen
class ExecutedTransaction:
    """One landed transaction, with everything ``getTransaction`` reports about it.

    ``inner_instructions`` are in the RPC's JSON form
    (``[{"index": 2, "instructions": [{"programIdIndex", "accounts", "data", "stackHeight"}]}]``),
    token balances likewise. ``events`` are the pump events of a successful transaction
    (empty when it failed, although the logs keep any ``Program data:`` lines printed
    before the failure, as on mainnet).
    """

    signature: Signature
    slot: int
    blocktime: int
    err: object | None
    fee: int
    logs: tuple[str, ...]
    account_keys: tuple[Pubkey, ...]
    writable: tuple[bool, ...]
    pre_balances: tuple[int, ...]
    post_balances: tuple[int, ...]
    pre_token_balances: tuple[dict[str, Any], ...]
    post_token_balances: tuple[dict[str, Any], ...]
    compute_units_consumed: int
    inner_instructions: tuple[dict[str, Any], ...]
    events: tuple[SimEvent, ...]
    transaction: VersionedTransaction

    @property
    def ok(self) -> bool:
        return self.err is None


@attrs.frozen
class _Parsed:
    """The parts of a message the ledger works with."""

    tx: VersionedTransaction
    keys: tuple[Pubkey, ...]
    signer: tuple[bool, ...]
    writable: tuple[bool, ...]
    instructions: tuple[Instruction, ...]
    cu_limit: int
    fee: int


def _seeded_keypair(label: str, seed: int) -> Keypair:
    return Keypair.from_seed(hashlib.sha256(f"{label}:{seed}".encode()).digest())


@attrs.define(eq=False, init=False)
class Ledger:
    """LiteSVM + pump emulation, atomic transactions. Synchronous: no Trio here."""

    seed: int
    svm: SvmRunner
    fee_collector: Pubkey

    def __init__(
        self,
        *,
        seed: int = 0,
        global_: Global | None = None,
        fee_config: FeeConfig | None = None,
        global_config: GlobalConfig | None = None,
    ) -> None:
        self.seed = seed
        self.svm = SvmRunner(sponsor=_seeded_keypair("sponsor", seed))
        self.fee_collector = _seeded_keypair("validator", seed).pubkey()
        install_genesis(
            self.svm,
            global_ if global_ is not None else genesis_global(),
            fee_config if fee_config is not None else genesis_fee_config(),
            global_config,
        )
        self.svm.put(
            self.fee_collector,
            Account(lamports=self.svm.rent_exempt(0), data=b"", owner=A.SYSTEM_PROGRAM_ID),
        )

    # -- queries -------------------------------------------------------------------------
    def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        """Create lamports out of nothing (like a test validator's faucet)."""
        if lamports < 0:
            raise ValueError("airdrop amount must be >= 0")
        acct = self.svm.get(pubkey)
        if acct is None:
            acct = Account(lamports=0, data=b"", owner=A.SYSTEM_PROGRAM_ID)
        self.svm.put(pubkey, with_lamports(acct, acct.lamports + lamports))

    def get_account(self, pubkey: Pubkey) -> Account | None:
        return self.svm.get(pubkey)

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        """Overwrite an account (scenario set-up and tests only)."""
        self.svm.put(pubkey, account)

    def balance(self, pubkey: Pubkey) -> int:
        acct = self.svm.get(pubkey)
        return 0 if acct is None else acct.lamports

    def rent_exempt_minimum(self, size: int) -> int:
        return self.svm.rent_exempt(size)

    def token_balance(self, owner: Pubkey, mint: Pubkey) -> int:
        """Sum over ``owner``'s token accounts for ``mint`` under both token programs."""
        total = 0
        for program in TOKEN_PROGRAMS:
            for _key, acct in self.svm.svm.get_program_accounts(program):
                tok = parse_token_account(acct)
                if tok is not None and tok.owner == owner and tok.mint == mint:
                    total += tok.amount
        return total

    def bonding_curve(self, mint: Pubkey) -> BondingCurve | None:
        acct = self.svm.get(A.bonding_curve_pda(mint))
        if acct is None or acct.owner != A.PUMP_PROGRAM_ID:
            return None
        try:
            return BondingCurve.decode(bytes(acct.data))
        except DecodeError:
            return None

    def pool(self, mint: Pubkey, quote_mint: Pubkey | None = None) -> tuple[Pubkey, Pool] | None:
        """The canonical PumpSwap pool of ``mint`` (after migration), or ``None``."""
        key = canonical_pool_pda(mint, quote_mint)
        acct = self.svm.get(key)
        if acct is None or acct.owner != A.PUMP_AMM_PROGRAM_ID:
            return None
        try:
            return key, Pool.decode(bytes(acct.data))
        except DecodeError:
            return None

    def mint_quote_tokens(self, owner: Pubkey, amount: int, mint: Pubkey = A.USDC_MINT) -> Pubkey:
        """Give ``owner`` ``amount`` units of the sim's USDC (a faucet, like :meth:`airdrop`).

        Real SPL instructions: the owner's ATA is created idempotently (its rent appears
        from nowhere, as an airdrop's lamports do), then ``MintTo`` by the faucet key.
        Returns the ATA.

        Raises:
            ValueError: a negative amount, or ``mint`` is not a mint the faucet controls.
        """
        if amount < 0:
            raise ValueError("mint amount must be >= 0")
        acct = self.svm.get(mint)
        if acct is None or bytes(acct.data)[4:36] != bytes(QUOTE_FAUCET):
            raise ValueError(f"{mint} is not a quote mint of the simulator's faucet")
        sponsor = self.svm.sponsor.pubkey()
        ata = A.associated_token_address(owner, mint, A.TOKEN_PROGRAM_ID)
        create = create_associated_token_account_idempotent(
            payer=sponsor, owner=owner, mint=mint, token_program=A.TOKEN_PROGRAM_ID
        )
        mint_to = Instruction(
            A.TOKEN_PROGRAM_ID,
            bytes([7]) + amount.to_bytes(8, "little"),
            [
                AccountMeta(mint, False, True),
                AccountMeta(ata, False, True),
                AccountMeta(QUOTE_FAUCET, True, False),
            ],
        )
        out = self.svm.run([create, mint_to], keys=(), compute_limit=200_000)
        if out.err is not None:
            raise ValueError(f"minting {mint} to {owner} failed: {out.err}")
        return ata

    def age_bonding_curve(self, mint: Pubkey, size: int = BondingCurve.PREVIOUS_SIZE) -> None:
        """Give a coin's curve an older, shorter layout, as if created before 2026-10-08.

        The account is cut to ``size`` bytes (151: the layout before the deploy) and its
        lamports lose the rent of the bytes removed, so it still holds the rent of its
        size plus the real reserves; the next trade grows it back, the trader paying
        (:mod:`.pump_program`). Scenario set-up and tests only.

        Raises:
            ValueError: the mint has no curve, or ``size`` is not a shorter valid length.
        """
        key = A.bonding_curve_pda(mint)
        acct = self.svm.get(key)
        curve = self.bonding_curve(mint)
        if acct is None or curve is None:
            raise ValueError(f"{mint} has no bonding curve")
        current = len(bytes(acct.data))
        if not BondingCurve.MIN_SIZE <= size < current:
            raise ValueError(f"size {size} is not a layout shorter than {current} bytes")
        lamports = acct.lamports - (self.svm.rent_exempt(current) - self.svm.rent_exempt(size))
        self.svm.put(key, Account(lamports=lamports, data=curve.encode(size), owner=acct.owner))

    # -- transactions ----------------------------------------------------------------------
    def execute(
        self, tx: Transaction | VersionedTransaction, *, slot: int = 0, blocktime: int = 0
    ) -> ExecutedTransaction:
        """Run ``tx`` and keep its effects (or, if it failed, only its fee).

        Raises:
            TransactionRejected: the transaction cannot land at all.
        """
        return self._process(tx, slot=slot, blocktime=blocktime, commit=True, sig_verify=True)

    def simulate(
        self,
        tx: Transaction | VersionedTransaction,
        *,
        slot: int = 0,
        blocktime: int = 0,
        sig_verify: bool = True,
    ) -> ExecutedTransaction:
        """Run ``tx`` exactly as :meth:`execute` would, then undo everything."""
        return self._process(
            tx, slot=slot, blocktime=blocktime, commit=False, sig_verify=sig_verify
        )

    def _process(
        self,
        tx: Transaction | VersionedTransaction,
        *,
        slot: int,
        blocktime: int,
        commit: bool,
        sig_verify: bool,
    ) -> ExecutedTransaction:
        parsed = self._parse(tx, sig_verify=sig_verify)
        payer = parsed.keys[0]
        self._check_fee_payer(payer, parsed.fee)
        tracked = list(dict.fromkeys([*parsed.keys, self.fee_collector]))
        snapshot = {k: self.svm.svm.get_account(k) for k in tracked}
        pre_balances = tuple(self.balance(k) for k in parsed.keys)
        pre_tokens = self._token_balances(parsed.keys)

        self._charge_fee(payer, parsed.fee)
        after_fee = {k: self.svm.get(k) for k in parsed.keys}
        run = _Run(self, parsed, blocktime)
        try:
            err = run.execute_all()
            if err is None:
                err = self._rent_check(parsed, after_fee)
        except BaseException:
            self._restore(snapshot)  # never leave a half-applied transaction behind
            raise
        if err is not None:
            self._restore(snapshot)
            self._charge_fee(payer, parsed.fee)

        post_balances = tuple(self.balance(k) for k in parsed.keys)
        post_tokens = self._token_balances(parsed.keys)
        if not commit:
            self._restore(snapshot)
        executed = ExecutedTransaction(
            signature=parsed.tx.signatures[0],
            slot=slot,
            blocktime=blocktime,
            err=err,
            fee=parsed.fee,
            logs=tuple(run.logs),
            account_keys=parsed.keys,
            writable=parsed.writable,
            pre_balances=pre_balances,
            post_balances=post_balances,
            pre_token_balances=pre_tokens,
            post_token_balances=post_tokens,
            compute_units_consumed=run.consumed,
            inner_instructions=tuple(run.inner),
            events=tuple(run.events) if err is None else (),
            transaction=parsed.tx,
        )
        logger.debug("tx %s err=%s fee=%s", executed.signature, err, parsed.fee)
        return executed

    # -- steps -----------------------------------------------------------------------------
    def _parse(self, tx: Transaction | VersionedTransaction, *, sig_verify: bool) -> _Parsed:
        vtx = VersionedTransaction.from_legacy(tx) if isinstance(tx, Transaction) else tx
        try:
            vtx.sanitize()
        except Exception as exc:
            raise TransactionRejected("SanitizeFailure", str(exc)) from exc
        if sig_verify and not all(vtx.verify_with_results()):
            raise TransactionRejected("SignatureFailure")
        msg = vtx.message
        if not isinstance(msg, Message | MessageV0):
            raise TransactionRejected("UnsupportedVersion")
        if isinstance(msg, MessageV0) and msg.address_table_lookups:
            raise TransactionRejected("AddressLookupTableNotFound")
        keys = tuple(msg.account_keys)
        header = msg.header
        n_sig = header.num_required_signatures
        n = len(keys)
        signer = tuple(i < n_sig for i in range(n))
        writable = tuple(
            (i < n_sig - header.num_readonly_signed_accounts)
            if i < n_sig
            else (i < n - header.num_readonly_unsigned_accounts)
            for i in range(n)
        )
        instructions = tuple(_decompile(msg, keys, signer, writable))
        cu_limit, cu_price = self._compute_budget(instructions)
        priority = -(-cu_price * cu_limit // 1_000_000)
        fee = LAMPORTS_PER_SIGNATURE * n_sig + priority
        return _Parsed(vtx, keys, signer, writable, instructions, cu_limit, fee)

    @staticmethod
    def _compute_budget(instructions: Sequence[Instruction]) -> tuple[int, int]:
        limit: int | None = None
        price = 0
        seen: set[str] = set()
        others = 0
        for i, ix in enumerate(instructions):
            if ix.program_id != A.COMPUTE_BUDGET_PROGRAM_ID:
                others += 1
                continue
            try:
                kind, value = decode_compute_budget(bytes(ix.data))
            except (DecodeError, ValueError) as exc:
                raise TransactionRejected(
                    {"InstructionError": [i, "InvalidInstructionData"]}, str(exc)
                ) from exc
            if kind in seen:
                raise TransactionRejected({"DuplicateInstruction": i})
            seen.add(kind)
            if kind == "limit":
                limit = value
            elif kind == "price":
                price = value
        if limit is None:
            limit = DEFAULT_CU_PER_INSTRUCTION * others
        return min(limit, MAX_CU), price

    def _check_fee_payer(self, payer: Pubkey, fee: int) -> None:
        acct = self.svm.get(payer)
        if acct is None:
            raise TransactionRejected("AccountNotFound")
        if acct.owner != A.SYSTEM_PROGRAM_ID:
            raise TransactionRejected("InvalidAccountForFee")
        if acct.lamports < fee:
            raise TransactionRejected("InsufficientFundsForFee")
        after = acct.lamports - fee
        minimum = self.svm.rent_exempt(len(bytes(acct.data)))
        if acct.lamports >= minimum and 0 < after < minimum:
            raise TransactionRejected({"InsufficientFundsForRent": {"account_index": 0}})

    def _charge_fee(self, payer: Pubkey, fee: int) -> None:
        acct = self.svm.get(payer)
        assert acct is not None
        self.svm.put(payer, with_lamports(acct, acct.lamports - fee))
        collector = self.svm.get(self.fee_collector)
        lamports = 0 if collector is None else collector.lamports
        self.svm.put(
            self.fee_collector,
            Account(lamports=lamports + fee, data=b"", owner=A.SYSTEM_PROGRAM_ID),
        )

    def _restore(self, snapshot: dict[Pubkey, Account | None]) -> None:
        for key, acct in snapshot.items():
            self.svm.put(key, acct)

    def _rent_check(self, parsed: _Parsed, before: dict[Pubkey, Account | None]) -> object | None:
        """The runtime's rule: no writable account may newly become rent-paying."""
        for i, key in enumerate(parsed.keys):
            if not parsed.writable[i]:
                continue
            post = self.svm.get(key)
            if post is None or post.lamports >= self.svm.rent_exempt(len(bytes(post.data))):
                continue
            pre = before.get(key)
            if (
                pre is not None
                and pre.lamports < self.svm.rent_exempt(len(bytes(pre.data)))
                and len(bytes(pre.data)) == len(bytes(post.data))
                and post.lamports <= pre.lamports
            ):
                continue
            return {"InsufficientFundsForRent": {"account_index": i}}
        return None

    def _token_balances(self, keys: Sequence[Pubkey]) -> tuple[dict[str, Any], ...]:
        out = []
        for i, key in enumerate(keys):
            tok = parse_token_account(self.svm.get(key))
            if tok is None:
                continue
            decimals = mint_decimals(self.svm.get(tok.mint))
            out.append(token_balance_json(i, tok, 0 if decimals is None else decimals))
        return tuple(out)


_EMULATED = {
    A.PUMP_PROGRAM_ID: pump_program.process,
    A.PUMP_AMM_PROGRAM_ID: amm_program.process,
}


def _decompile(
    msg: Message | MessageV0,
    keys: Sequence[Pubkey],
    signer: Sequence[bool],
    writable: Sequence[bool],
) -> list[Instruction]:
    out = []
    for ci in msg.instructions:
        metas = [AccountMeta(keys[a], signer[a], writable[a]) for a in bytes(ci.accounts)]
        out.append(Instruction(keys[ci.program_id_index], bytes(ci.data), metas))
    return out


@attrs.define(eq=False)
class _Run:
    """Executes the instructions of one transaction, collecting its trace."""

    ledger: Ledger
    parsed: _Parsed
    blocktime: int
    logs: list[str] = attrs.field(factory=list)
    inner: list[dict[str, Any]] = attrs.field(factory=list)
    events: list[SimEvent] = attrs.field(factory=list)
    consumed: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.parsed.cu_limit - self.consumed)

    def execute_all(self) -> object | None:
        """Run every instruction; the JSON error of the first failure, else ``None``."""
        for index, ix in enumerate(self.parsed.instructions):
            err = self._one(index, ix)
            if err is not None:
                return err
        return None

    def _add_inner(self, index: int, items: list[dict[str, Any]]) -> None:
        if items:
            self.inner.append({"index": index, "instructions": items})

    def _one(self, index: int, ix: Instruction) -> object | None:
        program = ix.program_id
        if program == A.COMPUTE_BUDGET_PROGRAM_ID:
            self.logs += [f"Program {program} invoke [1]", f"Program {program} success"]
            self.consumed += _COMPUTE_BUDGET_CU
            return None
        if program in _EMULATED:
            return self._emulated(index, ix)
        out = self.ledger.svm.run([ix], keys=self.parsed.keys, compute_limit=self.remaining)
        self.logs += out.logs
        self.consumed += out.compute_units
        self._add_inner(index, out.inner)
        if out.err is None:
            return None
        if out.err_index is None:
            return out.err
        return {"InstructionError": [index, out.err]}

    def _emulated(self, index: int, ix: Instruction) -> object | None:
        program = ix.program_id
        limit = self.remaining
        ctx = InvokeContext(
            svm=self.ledger.svm,
            keys=self.parsed.keys,
            metas=list(ix.accounts),
            data=bytes(ix.data),
            compute_limit=limit,
            blocktime=self.blocktime,
        )
        self.logs.append(f"Program {program} invoke [1]")
        failure: ProgramFailure | None = None
        tx_err: object | None = None
        try:
            _EMULATED[program](ctx)
        except ProgramFailure as exc:
            failure = exc
        except TransactionLevelFailure as exc:
            tx_err = exc.err
        except Exception:
            # A bug in the emulation must not leave half-written state or kill the node:
            # fail the instruction (the ledger restores every account) and say so.
            name = "pump" if program == A.PUMP_PROGRAM_ID else "PumpSwap"
            logger.exception("%s emulation crashed on instruction %d", name, index)
            failure = ProgramFailure("ProgramFailedToComplete", "Program failed to complete")
        self.logs += ctx.logs
        self._add_inner(index, ctx.inner)
        self.consumed += ctx.consumed
        self.logs.append(f"Program {program} consumed {ctx.consumed} of {limit} compute units")
        if tx_err is not None:
            # A runtime rule broken by a CPI (rent): the program itself returned, the
            # transaction fails after it, as on a validator.
            self.logs.append(f"Program {program} success")
            return tx_err
        if failure is not None:
            self.logs.append(f"Program {program} failed: {failure.message}")
            return {"InstructionError": [index, failure.err]}
        self.logs.append(f"Program {program} success")
        self.events += ctx.events
        return None
