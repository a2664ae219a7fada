-- Settlement runs' trigger (after the function it executes; payments/settlements.sql).
--
-- withdrawals_settlement: a settlement ends with its payout: COMPLETED when the withdrawal
-- completes, FAILED (its fee given back) when it fails.
CREATE OR REPLACE TRIGGER withdrawals_settlement
	AFTER UPDATE OF status ON pg_wallet.withdrawals
	FOR EACH ROW
	WHEN (OLD.status = 'processing' AND NEW.status <> 'processing')
	EXECUTE FUNCTION pg_wallet._settlement_payout_ended();
