-- The payments layer's triggers (after the functions they execute).
--
-- holds_review_payment: a payment that fraud scoring held for review (payments.hold_id) ends
-- with its hold: SUCCESS when an admin releases it (the hold is posted, whichever way:
-- fraud_review_release, post_hold), FAILED when it is rejected or expires; in the same
-- transaction. The function is payments/payments.sql's _payment_review_ended.
CREATE OR REPLACE TRIGGER holds_review_payment
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status <> 'ACTIVE' AND NEW.review IS NOT NULL)
	EXECUTE FUNCTION pg_wallet._payment_review_ended();
