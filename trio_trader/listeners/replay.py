"""The last create a listener decoded, kept to be decoded again (``[latency] rehearse_ms``).

Only the references the listener already holds are kept (its log lines, the signature,
the slot, the joined text), so keeping one costs nothing on the BUY's path.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import trio

from trio_trader.trading.token_info import TokenInfo

from .decode import read_transaction


@attrs.frozen
class CreateReplay:
    """A create transaction's logs as the listener read them."""

    logs: Sequence[str]
    signature: str
    slot: int | None
    text: str | None = None

    def token_info(self) -> TokenInfo | None:
        """Decode the logs again, exactly as the listener did: the first new token's info."""
        events = read_transaction(
            self.logs,
            signature=self.signature,
            slot=self.slot,
            seen_at=trio.current_time(),
            text=self.text,
        )
        return events.tokens[0].token_info if events.tokens else None
