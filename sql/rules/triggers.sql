-- The rules layer's triggers (after the functions they execute).
--
-- Fraud scoring caches its settings, and whether any rule or IP reputation range exists, per
-- backend with the rules stamp (src/rules/fraud_stats.c), so a posting reads neither table
-- when nothing changed. Every statement that changes one of the three tables bumps the stamp
-- in its own transaction: the change applies from the next posting that sees it committed
-- (or from the next posting of the same transaction), and a rolled-back change never applied.

CREATE OR REPLACE TRIGGER fraud_settings_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.fraud_settings
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._fraud_config_changed();
CREATE OR REPLACE TRIGGER fraud_rules_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.fraud_rules
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._fraud_config_changed();
CREATE OR REPLACE TRIGGER fraud_ip_reputation_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.fraud_ip_reputation
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._fraud_config_changed();

-- holds_posted_beneficiary: a held request's payee becomes known only when the hold is posted
-- (pg_wallet._fraud_hold_posted, docs/fraud.md "New Beneficiary").
CREATE OR REPLACE TRIGGER holds_posted_beneficiary
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status = 'POSTED')
	EXECUTE FUNCTION pg_wallet._fraud_hold_posted();
