-- The partners layer's triggers (after the functions they execute).
--
-- events_fraud_alert_copy: every owner's fraud:risk_alert is copied into the fraud-alerts
-- stream (partners/events.sql) at commit, so that stream's row is the last lock a
-- transaction takes and an alert may be emitted anywhere in it. A constraint trigger (the
-- only kind that can be deferred), so not CREATE OR REPLACE: dropped and created again on
-- an upgrade's replay. A session that sets it IMMEDIATE copies at once instead (the tests
-- that read the copy inside their transaction).

DROP TRIGGER IF EXISTS events_fraud_alert_copy ON pg_wallet.events;
CREATE CONSTRAINT TRIGGER events_fraud_alert_copy
	AFTER INSERT ON pg_wallet.events
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.event_type = 'fraud:risk_alert')
	EXECUTE FUNCTION pg_wallet._fraud_alert_copy();

-- holds_review_closed_events: a request held for review that is rejected (voided) or expires
-- failed: transaction_failed for the payer (pg_wallet._review_closed_events, in
-- partners/withdrawals.sql).
CREATE OR REPLACE TRIGGER holds_review_closed_events
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status IN ('VOIDED', 'EXPIRED')
		AND NEW.review IS NOT NULL)
	EXECUTE FUNCTION pg_wallet._review_closed_events();

-- holds_review_released_events: a transfer that fraud scoring held for review (holds.review,
-- docs/fraud.md "HOLD") and an admin released is a transfer that completed: the payer and the
-- payee get transfer_completed as send_funds_to_account gives them, in the release's
-- transaction, whichever way the hold was posted (fraud_review_release, post_hold): the
-- function is in partners/withdrawals.sql.
CREATE OR REPLACE TRIGGER holds_review_released_events
	AFTER UPDATE OF status ON pg_wallet.holds
	FOR EACH ROW
	WHEN (OLD.status = 'ACTIVE' AND NEW.status = 'POSTED' AND NEW.review IS NOT NULL
		AND NEW.review ->> 'type' = 'TRANSFER')
	EXECUTE FUNCTION pg_wallet._review_released_events();
