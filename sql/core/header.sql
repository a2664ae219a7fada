-- pg_wallet install script, assembled by the Makefile from the files that sql/install.list
-- names, in its order: types and tables of every layer, then functions, then grants
-- (STYLE.md rule 5).

\echo Use "CREATE EXTENSION pg_wallet" to load this file. \quit
