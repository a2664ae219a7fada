/*-------------------------------------------------------------------------
 *
 * events_fraud.c
 *	  The fraud:risk_alert event: the sink the partners layer gives the
 *	  money rules (rules/rules.h), so a recorded HIGH or CRITICAL score
 *	  becomes a durable event of its owner in the posting's transaction,
 *	  through pg_wallet.emit_event (sql/partners/events.sql), and the rules
 *	  never call a layer above them. The admins' copy is made at commit by
 *	  the deferred trigger events_fraud_alert_copy (partners/triggers.sql).
 *
 * Owns: the event's payload (tribble-rest-api.md, "fraud:risk_alert":
 * transactionId, riskScore, riskLevel, decision, requiresAction,
 * timestamp; for a request held for review, which has posted nothing yet,
 * transactionId is null and holdId names the hold). Never: decides or
 * scores anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "core/pg_wallet.h"
#include "partners/events.h"
#include "rules/rules.h"

static SPIPlanPtr event_plan = NULL;

/* The sink: one fraud:risk_alert event in the owner's stream (inside the posting's SPI). */
static void
fraud_alert_event(const FraudAlert *a)
{
	Oid			argtypes[7] = {INT8OID, TEXTOID, INT2OID, TEXTOID, TEXTOID, BOOLOID, INT8OID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(a->owner_id);
	if (a->transaction_id != NULL)
		values[1] = CStringGetTextDatum(a->transaction_id);
	else
		nulls[1] = 'n';
	values[2] = Int16GetDatum((int16) a->score);
	values[3] = CStringGetTextDatum(a->level);
	values[4] = CStringGetTextDatum(a->decision);
	values[5] = BoolGetDatum(strcmp(a->decision, "ALLOW") != 0);
	values[6] = Int64GetDatum(a->hold_id);
	if (a->hold_id == 0)
		nulls[6] = 'n';
	wallet_plan(&event_plan,
				"SELECT pg_wallet.emit_event($1, 'fraud:risk_alert', jsonb_strip_nulls("
				"jsonb_build_object('holdId', $7)) || jsonb_build_object("
				"'transactionId', $2, 'riskScore', $3, 'riskLevel', $4, 'decision', $5,"
				" 'requiresAction', $6, 'timestamp',"
				" to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')))",
				7, argtypes);
	if (SPI_execute_plan(event_plan, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "fraud:risk_alert event failed");
}

void
events_register(void)
{
	rules_set_fraud_alert_sink(fraud_alert_event);
}
