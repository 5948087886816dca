"""Talking to any Solana node: JSON-RPC, pubsub, blockhash, fees, wallet, transactions.

Knows nothing of pump.fun; `trading/` joins this layer with `pump/`.
"""

from .blockhash import BlockhashCache
from .confirm import Confirmation, Confirmer
from .errors import (
    RpcBadReply,
    RpcError,
    RpcRateLimited,
    RpcReplyTooLarge,
    RpcUnavailable,
    TransactionError,
)
from .priority_fee import PriorityFee
from .pubsub import PubsubClient, PubsubStats, Subscription
from .rpc import RpcClient, RpcStats
from .transactions import SignedTransaction, build_transaction
from .types import (
    AccountInfo,
    SignatureInfo,
    SignatureStatus,
    TokenAccount,
    TokenBalance,
    TransactionInfo,
)
from .wallet import Wallet, WalletError

__all__ = [
    "AccountInfo",
    "BlockhashCache",
    "Confirmation",
    "Confirmer",
    "PriorityFee",
    "PubsubClient",
    "PubsubStats",
    "RpcBadReply",
    "RpcClient",
    "RpcError",
    "RpcRateLimited",
    "RpcReplyTooLarge",
    "RpcStats",
    "RpcUnavailable",
    "SignatureInfo",
    "SignatureStatus",
    "SignedTransaction",
    "Subscription",
    "TokenAccount",
    "TokenBalance",
    "TransactionError",
    "TransactionInfo",
    "Wallet",
    "WalletError",
    "build_transaction",
]
