-- API layer: the tables of the per-profile API functions (rate limits of the Tribble
-- profile) and the WaaS account numbers. Functions are in api/*.sql.

CREATE TABLE pg_wallet.tribble_rate_limits (
	kyc_tier smallint PRIMARY KEY CHECK (kyc_tier BETWEEN 0 AND 9),
	per_second integer NOT NULL CHECK (per_second > 0),
	per_hour integer NOT NULL CHECK (per_hour > 0),
	per_day integer NOT NULL CHECK (per_day > 0)
);
COMMENT ON TABLE pg_wallet.tribble_rate_limits IS
	'Tribble API requests allowed per user (token) and KYC tier, per second, hour and day '
	'(tribble-rest-api.md "Rate Limiting"); the bridge enforces what the API functions report.';
INSERT INTO pg_wallet.tribble_rate_limits VALUES
	(0, 1, 100, 1000), (1, 5, 500, 10000), (2, 10, 1000, 50000), (3, 20, 5000, 100000);

CREATE SEQUENCE pg_wallet.waas_account_number_seq START 10000001;
COMMENT ON SEQUENCE pg_wallet.waas_account_number_seq IS
	'Account numbers of accounts opened through the WaaS API (10000001, ...).';
