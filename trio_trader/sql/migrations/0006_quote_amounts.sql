-- 0006: positions in coins quoted in a token (USDC). Their money is kept in that token's
-- base units, apart from SOL: quote_spent / quote_received / realized_pnl_quote (USDC base
-- units, 6 decimals), while sol_spent / sol_received / realized_pnl_lamports stay the
-- wallet's SOL deltas (for such a coin: its transaction fees and rent). quote_mint is the
-- token (base58); NULL = a SOL coin, whose quote_* columns stay NULL. Older rows are SOL.

ALTER TABLE positions ADD COLUMN quote_mint TEXT;
ALTER TABLE positions ADD COLUMN quote_spent INTEGER;
ALTER TABLE positions ADD COLUMN quote_received INTEGER;
ALTER TABLE positions ADD COLUMN realized_pnl_quote INTEGER;
