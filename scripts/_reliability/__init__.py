"""Reliability harness: fault soak and crash loop of the bot on the standalone simulator."""
