"""Commands to a running bot: ``trio_trader sell | pause | resume`` from another terminal.

The channel is the ``commands`` table of the bot's own database (created 0600: only its
owner can write it). The CLI (``ui/control.py``) inserts a row and waits for its result;
:class:`CommandServer`, started beside the trader by the app, polls the table every
:data:`POLL_INTERVAL` seconds, marks each new row taken, acts, and writes ``done_at`` with
a one-line result. It polls over its OWN connection to the database file (its own writer
thread), so a poll never queues in front of a BUY's row in the trader's writer; before a
result is written, the trader's repository is flushed, so what the result says about the
positions is on disk when the CLI reads it.

* ``sell`` (``position:N``, ``mint:M`` or ``all``) asks the position's monitor to sell now
  with exit reason ``manual`` (:meth:`UniversalTrader.request_manual_exit`): the same path
  as an exit rule firing, so a SELL may leave before its BUY confirms. It works in
  ``never_sell`` mode too (that is what the mode is for).
* ``pause`` stops new BUYs; open positions keep being managed and their exits still fire.
  ``resume`` buys again. The state lives in the bot only: a restart starts unpaused.

A command older than :data:`COMMAND_TTL` seconds when the bot first sees it is expired,
not run: its CLI has already told the user that no bot answered.
"""

from __future__ import annotations

import logging
import sqlite3

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.store import (
    Command,
    PositionNotFound,
    Repository,
    RepositoryFailed,
    open_repository,
)
from trio_trader.trading.trader import UniversalTrader

log = logging.getLogger(__name__)

#: seconds between two reads of the commands table
POLL_INTERVAL = 0.5
#: seconds a command waits for a bot; the CLI waits as long, then expires it
COMMAND_TTL = 10.0

SELL, PAUSE, RESUME = "sell", "pause", "resume"
KINDS = (SELL, PAUSE, RESUME)


@attrs.define(eq=False, kw_only=True)
class CommandServer:
    """Serves the ``commands`` table for one trader (see the module docstring)."""

    trader: UniversalTrader
    repo: Repository
    poll_interval: float = POLL_INTERVAL
    served: int = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll and serve until cancelled; a database error is logged and retried."""
        if self.repo.path == ":memory:":  # a throwaway database has no file to share
            await self._serve(self.repo, task_status)
            return
        async with open_repository(self.repo.path) as own:
            await self._serve(own, task_status)

    async def _serve(self, commands: Repository, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        while True:
            try:
                for command in await commands.take_commands(max_age=COMMAND_TTL):
                    await self._flush_trader()  # its rows, read below, are on disk
                    result = await self.execute(command, commands)
                    log.info("command %d (%s %s): %s", command.id, command.kind,
                             command.arg or "", result)  # fmt: skip
                    await self._flush_trader()
                    await commands.finish_command(command.id, result)
                    self.served += 1
            except sqlite3.Error as exc:
                log.warning("commands table: %s; retrying", exc)
            await trio.sleep(self.poll_interval)

    async def _flush_trader(self) -> None:
        try:
            await self.repo.flush()
        except RepositoryFailed as exc:  # logged by the store; the command still answers
            log.warning("commands: the trader's database failed: %s", exc)

    async def execute(self, command: Command, reader: Repository | None = None) -> str:
        """Act on one command (reading rows through ``reader``, default ``repo``); returns
        the line the CLI prints."""
        if command.kind == PAUSE:
            return self._pause()
        if command.kind == RESUME:
            return self._resume()
        if command.kind == SELL:
            return await self._sell(command.arg or "", reader or self.repo)
        return f"error: unknown command {command.kind!r}"

    def _pause(self) -> str:
        if self.trader.paused:
            return "buying was already paused"
        self.trader.paused = True
        return "buying paused: no new BUYs; open positions are still managed and sold"

    def _resume(self) -> str:
        if not self.trader.paused:
            return "buying was not paused"
        self.trader.paused = False
        return "buying resumed"

    async def _sell(self, arg: str, reader: Repository) -> str:
        what, _, value = arg.partition(":")
        if what == "all":
            return self._sell_all()
        if what == "position" and value.isdigit():
            return await self._sell_position(int(value), reader)
        if what == "mint":
            try:
                mint = Pubkey.from_string(value)
            except ValueError:
                return f"error: not a mint address: {value!r}"
            return await self._sell_mint(mint, reader)
        return f"error: bad sell target {arg!r}"

    def _sell_all(self) -> str:
        mints = list(self.trader.position_tasks)
        for mint in mints:
            self.trader.request_manual_exit(mint)
        if not mints:
            return "error: no open position in this run"
        return f"SELL requested for {len(mints)} position(s): " + ", ".join(
            self._label(mint) for mint in mints
        )

    async def _sell_position(self, position_id: int, reader: Repository) -> str:
        for mint, position in self.trader.position_tasks.items():
            if position is not None and position.id == position_id:
                return self._requested(mint)
        try:
            stored = await reader.get_position(position_id)
        except PositionNotFound:
            return f"error: no position {position_id}"
        if stored.is_closed:
            return f"error: position {position_id} is already closed ({stored.exit_reason})"
        return self._unmanaged(f"position {position_id}")

    async def _sell_mint(self, mint: Pubkey, reader: Repository) -> str:
        if mint in self.trader.position_tasks:
            return self._requested(mint)
        if any(p.mint == mint for p in await reader.get_open_positions()):
            return self._unmanaged(f"the position of {mint}")
        return f"error: no open position of {mint}"

    def _requested(self, mint: Pubkey) -> str:
        position = self.trader.position_tasks.get(mint)
        if position is not None and position.status == "closing":
            return f"{self._label(mint)} is already being sold ({position.exit_reason})"
        self.trader.request_manual_exit(mint)
        text = f"SELL requested for {self._label(mint)} (exit reason manual)"
        if position is not None and position.awaiting_buy_result:
            text += "; its BUY is not confirmed yet: the SELL may go out before it"
        return text

    def _label(self, mint: Pubkey) -> str:
        position = self.trader.position_tasks.get(mint)
        if position is None or position.id is None:
            return f"{mint} (BUY being sent)"
        return f"position {position.id} ({position.token_info.symbol or mint})"

    @staticmethod
    def _unmanaged(what: str) -> str:
        # Its task ended with the position open: the SELLs failed past the emergency
        # policy, or an error no re-send fixes (see the ALERT in the log). A restart
        # resumes every open position; selling it again here would repeat that failure.
        return (
            f"error: {what} is open but this run is not managing it (left open after its "
            "SELLs failed: see the ALERT in the log); restarting the bot resumes it"
        )
