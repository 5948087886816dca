"""When a slot becomes "confirmed": the simulator's model of mainnet's vote latency.

On mainnet a transaction is *processed* when it lands in a slot, *confirmed* once a
supermajority of stake has voted on that slot (optimistic confirmation) and *finalized*
once the slot is rooted, ~32 slots later. The vote delay is not constant: usually one or
two slots, sometimes many more when votes land late (a long, right-skewed tail). That
window, landing → confirmed, is the one a bot that sells before its BUY confirms uses.

Two models, chosen by the ``vote_delay_median`` fault knob:

* **fixed** (``vote_delay_median = 0``, the default): every slot is confirmed exactly
  ``confirm_depth`` slots after it was produced — the simulator's historical behaviour,
  which tests with fast slots rely on (nothing is drawn, so seeded runs are unchanged);
* **log-normal** (``vote_delay_median > 0``): each slot, when produced, draws its vote
  delay in slots from a log-normal distribution with that median and
  ``vote_delay_sigma``, rounded up, at least ``confirm_depth`` and at most
  ``vote_delay_max``. Draws come from a generator seeded by the node's seed alone and are
  made once per slot in slot order, so a (seed, slot) always gets the same delay.

A slot is confirmed once its own delay has passed *or* a later slot is confirmed
(a vote on a descendant confirms its ancestors), so the confirmed tip never moves back
while the knobs stay put. Finalized follows ``finalize_depth`` slots behind the current
slot and never passes the confirmed tip.
"""

from __future__ import annotations

import math
import random
from collections import deque

from trio_trader.sim.faults import Faults

__all__ = ["ConfirmationClock", "draw_vote_delay"]


def draw_vote_delay(faults: Faults, rng: random.Random) -> int:
    """Slots from a slot's production to its confirmation, as ``faults`` describe them."""
    least = max(0, faults.confirm_depth)
    if faults.vote_delay_median <= 0:
        return least
    sigma = max(0.0, faults.vote_delay_sigma)
    drawn = rng.lognormvariate(math.log(faults.vote_delay_median), sigma)
    return min(max(least, math.ceil(drawn)), max(least, faults.vote_delay_max))


class ConfirmationClock:
    """The confirmed and finalized tips of a node, advanced once per produced slot.

    Every call takes the node's current knobs, so run-time changes apply at once.

    Args:
        seed: seeds the vote-delay draws (independent of the node's other draws).
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"trio-trader-votes/{seed}")
        self._due: deque[tuple[int, int]] = deque()  # (slot, slot at which it confirms)
        self._tip = -1

    def produced(self, slot: int, faults: Faults) -> None:
        """Note a newly produced slot, then confirm every slot whose votes are in."""
        if faults.vote_delay_median > 0:
            self._due.append((slot, slot + draw_vote_delay(faults, self._rng)))
            newest = max((s for s, due in self._due if due <= slot), default=None)
            if newest is not None:
                self._tip = max(self._tip, newest)
                while self._due and self._due[0][0] <= self._tip:
                    self._due.popleft()
        else:
            self._due.clear()
            self._tip = slot - max(0, faults.confirm_depth)

    def confirmed_tip(self, current: int, faults: Faults) -> int:
        """The newest confirmed slot (negative while none is)."""
        if faults.vote_delay_median <= 0:
            return current - max(0, faults.confirm_depth)
        return min(self._tip, current)

    def finalized_tip(self, current: int, faults: Faults) -> int:
        """The newest finalized (rooted) slot: ``finalize_depth`` behind the current one.

        With the log-normal model it never passes the confirmed tip (a slot is rooted
        only after it was voted on); the fixed model keeps its historical arithmetic.
        """
        rooted = current - faults.finalize_depth
        if faults.vote_delay_median <= 0:
            return rooted
        return min(rooted, self.confirmed_tip(current, faults))
