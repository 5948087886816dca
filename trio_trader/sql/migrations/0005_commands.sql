-- 0005: commands to a running bot (``trio_trader sell / pause / resume``). The CLI inserts
-- a row; the bot polls the table, marks the row taken, acts, then writes done_at and a
-- one-line result that the CLI prints. A row nobody took in time is expired by the CLI.

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
