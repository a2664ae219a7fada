-- Airtime top-ups' trigger (after the function it executes; payments/bills.sql).
--
-- holds_airtime_topup: a top-up ends with its hold on the user's wallet: SUCCESS when it is
-- posted (the partner delivered), FAILED when it is voided or expires.
CREATE OR REPLACE TRIGGER holds_airtime_topup
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status <> 'ACTIVE' AND NEW.review IS NULL)
	EXECUTE FUNCTION pg_wallet._airtime_topup_hold_ended();
