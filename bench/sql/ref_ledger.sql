-- Reference shape for bench/run (issue 20): the double-entry ledger a team would hand-write in
-- PL/pgSQL in an afternoon, written here from the issue's description, so that every run
-- prints pg_wallet's transfer next to it on the same server. Not part of the extension.
--   accounts  a balance and a floor (balance may not go below floor; NULL floor = may overdraw)
--   journals  one row per transfer, with a unique idempotency key
--   entries   two rows per transfer (debit negative, credit positive)
--   transfer  SELECT ... FOR UPDATE of both accounts in id order, floor check, journal,
--             two entries, two UPDATEs; a repeated key returns the first journal.
-- psql variables: accounts, user_funds, float_funds. Accounts: RSETTLE (may overdraw, the
-- source of all money), R1..RN users funded with :user_funds, RFLOAT funded with :float_funds
-- (no overdraft: the hot source), RMER (the hot destination). Same counts and funds as
-- sql/setup.sql builds for pg_wallet.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS ref CASCADE;
CREATE SCHEMA ref;

CREATE TABLE ref.accounts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_number text NOT NULL UNIQUE,
	currency char(3) NOT NULL,
	balance numeric(20, 2) NOT NULL DEFAULT 0,
	floor numeric(20, 2) DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (floor IS NULL OR balance >= floor)
);

CREATE TABLE ref.journals (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	idempotency_key text NOT NULL UNIQUE,
	description text,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ref.entries (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	journal_id bigint NOT NULL REFERENCES ref.journals,
	account_id bigint NOT NULL REFERENCES ref.accounts,
	amount numeric(20, 2) NOT NULL CHECK (amount <> 0),
	balance_after numeric(20, 2) NOT NULL
);
CREATE INDEX ON ref.entries (account_id, id);
CREATE INDEX ON ref.entries (journal_id);

CREATE OR REPLACE FUNCTION ref.transfer(p_from text, p_to text, p_amount numeric,
	p_key text, p_description text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	v_from ref.accounts;
	v_to ref.accounts;
	v_acc ref.accounts;
	v_journal bigint;
BEGIN
	IF p_amount IS NULL OR p_amount <= 0 OR p_amount <> round(p_amount, 2) THEN
		RAISE EXCEPTION 'invalid amount %', p_amount USING ERRCODE = '22023';
	END IF;
	IF p_from = p_to THEN
		RAISE EXCEPTION 'same account' USING ERRCODE = '22023';
	END IF;
	SELECT id INTO v_journal FROM ref.journals WHERE idempotency_key = p_key;
	IF FOUND THEN
		RETURN v_journal;
	END IF;
	-- lock both rows in id order (no deadlock between opposite transfers)
	FOR v_acc IN SELECT * FROM ref.accounts WHERE account_number IN (p_from, p_to)
		ORDER BY id FOR UPDATE
	LOOP
		IF v_acc.account_number = p_from THEN v_from := v_acc; ELSE v_to := v_acc; END IF;
	END LOOP;
	IF v_from.id IS NULL OR v_to.id IS NULL THEN
		RAISE EXCEPTION 'account not found' USING ERRCODE = 'P0002';
	END IF;
	IF v_from.currency <> v_to.currency THEN
		RAISE EXCEPTION 'currency mismatch' USING ERRCODE = '22023';
	END IF;
	IF v_from.floor IS NOT NULL AND v_from.balance - p_amount < v_from.floor THEN
		RAISE EXCEPTION 'insufficient funds' USING ERRCODE = '23514';
	END IF;
	INSERT INTO ref.journals (idempotency_key, description) VALUES (p_key, p_description)
		RETURNING id INTO v_journal;
	INSERT INTO ref.entries (journal_id, account_id, amount, balance_after) VALUES
		(v_journal, v_from.id, -p_amount, v_from.balance - p_amount),
		(v_journal, v_to.id, p_amount, v_to.balance + p_amount);
	UPDATE ref.accounts SET balance = balance - p_amount, updated_at = now() WHERE id = v_from.id;
	UPDATE ref.accounts SET balance = balance + p_amount, updated_at = now() WHERE id = v_to.id;
	RETURN v_journal;
END $$;

-- fixture: same shape and funds as sql/setup.sql
INSERT INTO ref.accounts (account_number, currency, floor) VALUES ('RSETTLE', 'KES', NULL);
INSERT INTO ref.accounts (account_number, currency) VALUES ('RFLOAT', 'KES'), ('RMER', 'KES');
INSERT INTO ref.accounts (account_number, currency)
	SELECT 'R' || i, 'KES' FROM generate_series(1, :accounts) i;
SELECT count(ref.transfer('RSETTLE', 'R' || i, :user_funds, 'fund-R' || i))
	FROM generate_series(1, :accounts) i;
SELECT ref.transfer('RSETTLE', 'RFLOAT', :float_funds, 'fund-RFLOAT');

VACUUM ANALYZE ref.accounts;
VACUUM ANALYZE ref.journals;
VACUUM ANALYZE ref.entries;
