-- Subscriptions' trigger (after the function it executes; payments/subscriptions.sql).
--
-- payments_subscription_charge: a payment held for fraud review (PROCESSING) ended: the
-- PENDING subscription charge it pays follows it.
CREATE OR REPLACE TRIGGER payments_subscription_charge
	AFTER UPDATE OF status ON pg_wallet.payments
	FOR EACH ROW
	WHEN (OLD.status = 'PROCESSING' AND NEW.status <> 'PROCESSING')
	EXECUTE FUNCTION pg_wallet._subscription_payment_ended();
