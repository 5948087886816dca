-- 0001: the original schema. Positions were written once their BUY had confirmed,
-- so they carried no order state; trades recorded only the outcome of each attempt.

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
    signature TEXT                         -- the create transaction
);

CREATE TABLE positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mint TEXT NOT NULL REFERENCES token_info(mint),
    is_active INTEGER NOT NULL DEFAULT 0,
    token_amount INTEGER,                  -- raw token units
    entry_price REAL,                      -- lamports per whole token, display only
    sol_spent INTEGER,                     -- lamports, wallet delta of the BUY (all fees)
    sol_received INTEGER,                  -- lamports, wallet delta of the SELLs (all fees)
    exit_reason TEXT,
    realized_pnl_lamports INTEGER,
    created_at REAL NOT NULL,              -- unix s
    closed_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX idx_positions_mint ON positions(mint);
CREATE INDEX idx_positions_is_active ON positions(is_active);

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
    recorded_at REAL NOT NULL
);
CREATE INDEX idx_trades_position_id ON trades(position_id);
