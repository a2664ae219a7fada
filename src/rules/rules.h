/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  The money rules layer as the rest of the extension sees it: one call
 *	  that plugs the rules into the posting core. Everything else of the
 *	  rules is reached through SQL (calculate_fee, FX functions) or through
 *	  the core's LedgerRules callbacks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RULES_H
#define RULES_H

/* rules.c: register the money rules with the posting core (from _PG_init) */
extern void rules_register(void);

/*
 * A recorded HIGH or CRITICAL fraud score, handed to whoever announces it:
 * the partners layer registers a sink that emits the fraud:risk_alert event
 * (src/partners/events_fraud.c), so the rules never call a layer above them.
 * Called inside the posting's transaction, after its score is written.
 */
typedef struct FraudAlert
{
	int64		owner_id;
	const char *transaction_id;	/* receipt code, NULL for a hold */
	int64		hold_id;		/* the hold keeping a request for review, else 0 */
	int			score;
	const char *level;
	const char *decision;
} FraudAlert;

typedef void (*FraudAlertSink) (const FraudAlert *alert);

/* fraud.c: set the sink (from _PG_init); without one, no alert is announced */
extern void rules_set_fraud_alert_sink(FraudAlertSink sink);

/*
 * fraud.c: the score this transaction last recorded for a posted journal,
 * when journal_id is that journal (false otherwise: read the score record).
 * A payment's answer shows it without reading back what it just wrote.
 */
extern bool rules_recorded_score(int64 journal_id, int *score, const char **level,
								 const char **decision);

#endif							/* RULES_H */
