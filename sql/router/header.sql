-- pg_wallet_router: the router database of a pg_wallet installation spread over several
-- PostgreSQL servers ("data nodes", each an ordinary database with CREATE EXTENSION pg_wallet).
-- docs/scale-out.md is the design; this script is assembled by the Makefile from
-- sql/core/types.sql (the API's composite types, the same as on every node) and the files of
-- sql/router/, in the order of ROUTER_PARTS there.
--
-- Layers: the router sits above the nodes and calls them only through their public SQL API
-- (PL/Proxy for a call on one node, dblink for the two phases of a cross-node transfer). It
-- never reads a node's tables except pg_prepared_xacts and, inside the transfer it is
-- preparing, the one entry that says what reached the clearing account.

\echo Use "CREATE EXTENSION pg_wallet_router CASCADE" to load this file. \quit

-- The pg_ prefix is reserved for system schemas: lifted for these two statements, as
-- sql/core/schema.sql does for a node's schema.
SET LOCAL allow_system_table_mods = on;
CREATE SCHEMA pg_wallet;
CREATE SCHEMA pg_wallet_router;
RESET allow_system_table_mods;
COMMENT ON SCHEMA pg_wallet IS
	'The pg_wallet API as the router serves it: the same names and signatures as on a node.';
COMMENT ON SCHEMA pg_wallet_router IS
	'The router''s own state: the nodes, the account directory, the cross-node transfer log.';
CREATE SCHEMA IF NOT EXISTS plproxy;
