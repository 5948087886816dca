"""Display texts of Solana's ``TransactionError`` / ``InstructionError``.

A preflight failure's message is ``"Transaction simulation failed: " + Display(err)``;
clients log it and some match on it, so the wording follows agave's error types.
"""

from __future__ import annotations

_INSTRUCTION_ERRORS = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountBorrowFailed": "instruction tries to borrow reference for an account which is "
    "already borrowed",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "ProgramFailedToComplete": "Program failed to complete",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does "
    "not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
}
_TRANSACTION_ERRORS = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
}


def tx_error_message(err: object) -> str:
    """The Display text of a TransactionError, as in "Transaction simulation failed: …"."""
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            text = f"custom program error: {int(inner['Custom']):#x}"
        else:
            text = _INSTRUCTION_ERRORS.get(str(inner), str(inner))
        return f"Error processing Instruction {index}: {text}"
    if isinstance(err, dict) and "InsufficientFundsForRent" in err:
        index = err["InsufficientFundsForRent"].get("account_index")
        return f"Transaction results in an account ({index}) with insufficient funds for rent"
    return _TRANSACTION_ERRORS.get(str(err), str(err))
