"""trio-trader: a pump.fun trading bot for Solana on Trio."""

__version__ = "0.1.0"
