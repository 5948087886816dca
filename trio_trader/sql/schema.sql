-- The schema of a new trio-trader database: the result of every file in migrations/.
-- Keep the two in step (tests/store/test_migrations.py compares them column by column).
-- Money is INTEGER (lamports, raw token units); REAL only for display prices and times.

CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL
);

CREATE TABLE token_info (
    mint TEXT PRIMARY KEY,                 -- base58
    name TEXT NOT NULL,
    symbol TEXT NOT NULL,
    uri TEXT NOT NULL,
    bonding_curve TEXT NOT NULL,
    associated_bonding_curve TEXT NOT NULL,
    creator TEXT NOT NULL,
    user TEXT NOT NULL,                    -- the deployer
    token_program TEXT NOT NULL,
    is_mayhem_mode INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER,                    -- unix s of the create
    virtual_sol_reserves INTEGER,
    virtual_token_reserves INTEGER,
    real_token_reserves INTEGER,
    decimals INTEGER NOT NULL DEFAULT 6,
    signature TEXT,                        -- the create transaction
    is_cashback_coin INTEGER NOT NULL DEFAULT 0,
    quote_mint TEXT,                       -- base58; NULL = SOL
    is_holder_reward INTEGER NOT NULL DEFAULT 0
);

-- One row per position, written before its BUY is sent and on every state change.
CREATE TABLE positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mint TEXT NOT NULL REFERENCES token_info(mint),
    is_active INTEGER NOT NULL DEFAULT 0,  -- tokens held (BUY confirmed, not closed)
    token_amount INTEGER,                  -- raw token units (expected until the BUY confirms)
    entry_price REAL,                      -- lamports per whole token, display only
    sol_spent INTEGER,                     -- lamports, wallet delta of the BUY (all fees)
    sol_received INTEGER,                  -- lamports, wallet delta of the SELLs (all fees)
    exit_reason TEXT,
    realized_pnl_lamports INTEGER,         -- sol_received - sol_spent
    created_at REAL NOT NULL,              -- unix s
    closed_at REAL,
    updated_at REAL NOT NULL,
    is_closed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending', -- pending|active|closing|closed|failed
    sell_attempts INTEGER NOT NULL DEFAULT 0,
    buy_order TEXT,                        -- JSON of BuyOrder, NULLable
    sell_order TEXT,                       -- JSON of the latest SellOrder, NULLable
    quote_mint TEXT,                       -- base58 of a token quote (USDC); NULL = SOL
    quote_spent INTEGER,                   -- quote base units, wallet delta of the BUY
    quote_received INTEGER,                -- quote base units, wallet delta of the SELLs
    realized_pnl_quote INTEGER             -- quote_received - quote_spent (NULL: SOL coin)
);
CREATE INDEX idx_positions_mint ON positions(mint);
CREATE INDEX idx_positions_is_active ON positions(is_active);
CREATE INDEX idx_positions_status ON positions(status);

-- Every resolved order attempt, success or failure.
CREATE TABLE trades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    position_id INTEGER REFERENCES positions(id),
    mint TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    success INTEGER NOT NULL,
    signature TEXT,
    token_amount INTEGER,
    sol_amount INTEGER,                    -- expected: BUY cost / SELL proceeds
    sol_change INTEGER,                    -- wallet SOL delta, all fees included
    token_change INTEGER,
    fee_lamports INTEGER,
    slot INTEGER,
    error_message TEXT,
    recorded_at REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    state TEXT,
    sol_limit INTEGER,                     -- max_sol_cost / min_sol_output
    error TEXT,                            -- JSON of the transaction's err
    error_code INTEGER,
    error_name TEXT,
    sent_at REAL,                          -- unix s
    sent_before_buy_confirmed INTEGER NOT NULL DEFAULT 0,
    venue TEXT NOT NULL DEFAULT 'pump'     -- pump | pump_v2 | pumpswap
);
CREATE INDEX idx_trades_position_id ON trades(position_id);

-- Named statistics, e.g. pre-confirmation sells sent and how many succeeded.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);

-- The database's identity: "wallet" (base58 pubkey) and "genesis_hash" (the cluster's),
-- written by the first run; a run with other values refuses to start.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Commands to a running bot (sell / pause / resume), inserted by the CLI, served by the bot.
CREATE TABLE commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                    -- sell | pause | resume
    arg TEXT,                              -- sell: "position:N", "mint:M" or "all"
    created_at REAL NOT NULL,              -- unix s
    taken_at REAL,                         -- unix s, by the bot
    done_at REAL,                          -- unix s, by the bot (or the CLI when expired)
    result TEXT
);
CREATE INDEX idx_commands_pending ON commands(done_at);
