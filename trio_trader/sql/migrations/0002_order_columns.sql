-- 0002: pre-confirmation sells. A position row now exists before its BUY is sent and
-- carries both orders as JSON (NULL until there is one); trades keep each attempt's
-- state and error code; counters hold the pre-confirmation sell statistics.

ALTER TABLE token_info ADD COLUMN is_cashback_coin INTEGER NOT NULL DEFAULT 0;

ALTER TABLE positions ADD COLUMN is_closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE positions ADD COLUMN sell_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN buy_order TEXT;     -- JSON of BuyOrder, NULLable
ALTER TABLE positions ADD COLUMN sell_order TEXT;    -- JSON of the latest SellOrder, NULLable
-- rows of the old schema: a closed_at means closed, is_active means tokens held
UPDATE positions SET
    is_closed = (closed_at IS NOT NULL),
    status = CASE
        WHEN closed_at IS NOT NULL THEN 'closed'
        WHEN is_active THEN 'active'
        ELSE 'pending'
    END;
CREATE INDEX idx_positions_status ON positions(status);

ALTER TABLE trades ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE trades ADD COLUMN state TEXT;
ALTER TABLE trades ADD COLUMN sol_limit INTEGER;     -- max_sol_cost / min_sol_output
ALTER TABLE trades ADD COLUMN error TEXT;            -- JSON of the transaction's err
ALTER TABLE trades ADD COLUMN error_code INTEGER;
ALTER TABLE trades ADD COLUMN error_name TEXT;
ALTER TABLE trades ADD COLUMN sent_at REAL;          -- unix s
ALTER TABLE trades ADD COLUMN sent_before_buy_confirmed INTEGER NOT NULL DEFAULT 0;
UPDATE trades SET state = CASE WHEN success THEN 'confirmed' ELSE 'failed' END;

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);
