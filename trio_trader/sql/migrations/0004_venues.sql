-- 0004: today's pump program. A coin may be quoted in a mint other than SOL and may be a
-- holder-reward coin (its creator fees go to a PDA); every order says where it traded:
-- 'pump' (the curve, legacy buy/sell), 'pump_v2' (the curve, buy_v2/sell_v2) or
-- 'pumpswap' (the coin's PumpSwap pool, after graduation). Older rows traded on the curve.

ALTER TABLE token_info ADD COLUMN quote_mint TEXT;   -- base58; NULL = SOL
ALTER TABLE token_info ADD COLUMN is_holder_reward INTEGER NOT NULL DEFAULT 0;

ALTER TABLE trades ADD COLUMN venue TEXT NOT NULL DEFAULT 'pump';
