/*-------------------------------------------------------------------------
 *
 * format.c
 *	  How the APIs write a timestamp: ISO 8601 in UTC to the second,
 *	  2025-12-07T11:00:00Z (the specs' shape). C callers use
 *	  timestamp_iso(); SQL calls pg_wallet._ts_iso().
 *
 * Owns: the API timestamp's text. Never: reads a table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_ts_iso);

/*
 * ts as YYYY-MM-DDTHH:MI:SSZ in UTC (the fraction of a second dropped);
 * NULL for an infinite one, as to_char() gives.
 */
char *
timestamp_iso(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts))
		return NULL;
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* _ts_iso(ts timestamptz) returns text (strict) */
Datum
wallet_ts_iso(PG_FUNCTION_ARGS)
{
	char	   *s = timestamp_iso(PG_GETARG_TIMESTAMPTZ(0));

	if (s == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(s));
}
