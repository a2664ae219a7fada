-- Card payments' triggers (after the functions they execute; payments/cards.sql).
--
-- holds_card_payment: a card payment ends with its authorisation hold: SUCCESS when it is
-- posted (the capture), FAILED when it is voided (declined) or expires (the holds expiry).
-- Review holds (holds.review) are holds_review_payment's.
CREATE OR REPLACE TRIGGER holds_card_payment
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status <> 'ACTIVE' AND NEW.review IS NULL)
	EXECUTE FUNCTION pg_wallet._card_payment_hold_ended();

-- holds_card_refund: a card refund ends with its hold on the merchant's account: COMPLETED
-- when it is posted (the partner refunded the card), FAILED when it is voided or expires.
CREATE OR REPLACE TRIGGER holds_card_refund
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status <> 'ACTIVE' AND NEW.review IS NULL)
	EXECUTE FUNCTION pg_wallet._card_refund_hold_ended();
