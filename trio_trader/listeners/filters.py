"""Which detected tokens the trader may buy.

A filter answers with the *reason* a token is rejected (or ``None`` to accept), so the
log says why a token was skipped. Checks are cheap and pure; the trader applies them
before it spends anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
from solders.pubkey import Pubkey

from .types import NewToken


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern, re.IGNORECASE) if pattern else None


@attrs.frozen(kw_only=True)
class TokenFilter:
    """Name/symbol match, creator allow/deny lists, creator's initial buy size, token age.

    Substring matches are case-insensitive and any listed substring is enough; a regex
    is searched (not anchored). Empty lists and ``None`` mean "no restriction".
    ``max_token_age`` compares the token's create timestamp (unix seconds) with ``now_unix``.
    """

    name_contains: Sequence[str] = ()
    symbol_contains: Sequence[str] = ()
    name_regex: re.Pattern[str] | None = attrs.field(default=None, converter=_compile)
    symbol_regex: re.Pattern[str] | None = attrs.field(default=None, converter=_compile)
    creator_allow: frozenset[Pubkey] = frozenset()
    creator_deny: frozenset[Pubkey] = frozenset()
    min_creator_buy_lamports: int | None = None
    max_creator_buy_lamports: int | None = None
    max_token_age: float | None = None

    def rejects(self, token: NewToken, *, now_unix: float) -> str | None:
        """Why ``token`` must not be bought, or ``None`` when it passes every check."""
        info = token.token_info
        if self.name_contains and not _contains_any(info.name, self.name_contains):
            return f"name {info.name!r} matches none of {list(self.name_contains)}"
        if self.symbol_contains and not _contains_any(info.symbol, self.symbol_contains):
            return f"symbol {info.symbol!r} matches none of {list(self.symbol_contains)}"
        if self.name_regex is not None and not self.name_regex.search(info.name):
            return f"name {info.name!r} does not match {self.name_regex.pattern!r}"
        if self.symbol_regex is not None and not self.symbol_regex.search(info.symbol):
            return f"symbol {info.symbol!r} does not match {self.symbol_regex.pattern!r}"
        if self.creator_allow and info.creator not in self.creator_allow:
            return f"creator {info.creator} not in the allow list"
        deny = self.creator_deny
        if deny and (info.creator in deny or info.user in deny):  # no hashing when empty
            return f"creator {info.creator} is denied"
        return self._rejects_numbers(token, now_unix)

    def _rejects_numbers(self, token: NewToken, now_unix: float) -> str | None:
        buy = token.creator_buy_lamports
        if self.min_creator_buy_lamports is not None and buy < self.min_creator_buy_lamports:
            return f"creator bought {buy} lamports < {self.min_creator_buy_lamports}"
        if self.max_creator_buy_lamports is not None and buy > self.max_creator_buy_lamports:
            return f"creator bought {buy} lamports > {self.max_creator_buy_lamports}"
        created = token.token_info.created_at
        if self.max_token_age is not None and created is not None:
            age = now_unix - created
            if age > self.max_token_age:
                return f"token is {age:.0f}s old > {self.max_token_age}s"
        return None


def _contains_any(text: str, needles: Sequence[str]) -> bool:
    lowered = text.lower()
    return any(n.lower() in lowered for n in needles)
