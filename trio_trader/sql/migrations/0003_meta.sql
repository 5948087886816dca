-- 0003: the database's identity. A database belongs to one wallet on one cluster: the first
-- run writes the wallet's pubkey and the cluster's genesis hash here, and a later run with
-- another wallet or on another cluster refuses to start (it would resume positions it does
-- not own). One row per key; values are text.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
