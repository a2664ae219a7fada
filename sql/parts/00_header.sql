-- pg_wallet install script, assembled by the Makefile from sql/parts/*.sql in name order.
-- Order: types, tables, functions, grants (STYLE.md rule 5).

\echo Use "CREATE EXTENSION pg_wallet" to load this file. \quit
