/*-------------------------------------------------------------------------
 *
 * format.c
 *	  How the APIs write a timestamp: ISO 8601 in UTC to the second,
 *	  2025-12-07T11:00:00Z (the specs' shape). C callers use
 *	  timestamp_iso(); SQL calls pg_wallet._ts_iso(). And the members of a
 *	  jsonb object built in C (jsonb_put_*), for the answers and events C
 *	  writes (payments, the event notifications).
 *
 * Owns: the API timestamp's text, jsonb members. Never: reads a table.
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

/* A key of the object being built. */
void
jsonb_put_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* key: value, one member of the object being built. */
static void
put_member(JsonbParseState **st, const char *key, JsonbValue *value)
{
	jsonb_put_key(st, key);
	pushJsonbValue(st, WJB_VALUE, value);
}

/* key: a string, or null */
void
jsonb_put_text(JsonbParseState **st, const char *key, const char *value)
{
	JsonbValue	v;

	v.type = value ? jbvString : jbvNull;
	if (value)
	{
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	put_member(st, key, &v);
}

/* key: a numeric */
void
jsonb_put_numeric(JsonbParseState **st, const char *key, Numeric value)
{
	JsonbValue	v = {.type = jbvNumeric, .val.numeric = value};

	put_member(st, key, &v);
}

/* key: true or false */
void
jsonb_put_bool(JsonbParseState **st, const char *key, bool value)
{
	JsonbValue	v = {.type = jbvBool, .val.boolean = value};

	put_member(st, key, &v);
}
