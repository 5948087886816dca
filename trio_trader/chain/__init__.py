"""Talking to any Solana node: JSON-RPC, pubsub, blockhash, fees, wallet, transactions.

Knows nothing of pump.fun; `trading/` joins this layer with `pump/`.
"""

from .blockhash import BlockhashCache
from .confirm import Confirmation, Confirmer
from .errors import RpcError, RpcRateLimited, RpcUnavailable, TransactionError
from .priority_fee import PriorityFee
from .pubsub import PubsubClient, PubsubStats, Subscription
from .rpc import RpcClient, RpcStats
from .transactions import SignedTransaction, build_transaction
from .types import AccountInfo, SignatureStatus, TokenBalance, TransactionInfo
from .wallet import Wallet, WalletError

__all__ = [
    "AccountInfo",
    "BlockhashCache",
    "Confirmation",
    "Confirmer",
    "PriorityFee",
    "PubsubClient",
    "PubsubStats",
    "RpcClient",
    "RpcError",
    "RpcRateLimited",
    "RpcStats",
    "RpcUnavailable",
    "SignatureStatus",
    "SignedTransaction",
    "Subscription",
    "TokenBalance",
    "TransactionError",
    "TransactionInfo",
    "Wallet",
    "WalletError",
    "build_transaction",
]
