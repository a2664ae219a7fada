/*-------------------------------------------------------------------------
 *
 * amount.c
 *	  Money amounts: exact decimal text or numeric <-> int64 minor units, with
 *	  the ISO 4217 exponent of the currency.
 *
 * Owns: parsing and formatting of amounts, currency exponent look-up.
 * Never: uses floating point, or rounds. An amount with more significant
 * decimals than its currency has is an error (trailing zeros are accepted, so
 * "96.0000" is a valid KES amount: the specs echo amounts with four decimals).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_amount_parse_text);
PG_FUNCTION_INFO_V1(wallet_amount_parse_numeric);
PG_FUNCTION_INFO_V1(wallet_amount_format);

static SPIPlanPtr currency_plan = NULL;

/*
 * The exponents looked up in the current transaction. A currency's exponent
 * never changes once an account has copied it (accounts.exponent), and a new
 * currency is looked up when first asked for; the cache still starts again
 * with each transaction, so that a correction made before any account used
 * the currency is seen by the next one. A payment formats and parses a
 * handful of amounts, each a SPI look-up without it (issue 13's bench).
 */
#define EXPONENT_CACHE_SIZE 8
static struct
{
	char		code[4];
	int			exponent;
}			exponent_cache[EXPONENT_CACHE_SIZE];
static int	exponent_cache_n = 0;
static LocalTransactionId exponent_cache_lxid = InvalidLocalTransactionId;

static bool
exponent_cached(const char *currency, int *exponent)
{
	if (exponent_cache_lxid != MyProc->lxid)
	{
		exponent_cache_n = 0;
		exponent_cache_lxid = MyProc->lxid;
	}
	for (int i = 0; i < exponent_cache_n; i++)
		if (strcmp(exponent_cache[i].code, currency) == 0)
		{
			*exponent = exponent_cache[i].exponent;
			return true;
		}
	return false;
}

/*
 * Exponent of a currency, or an error naming it when unknown.
 * Caller must be connected to SPI.
 */
int
currency_exponent(const char *currency)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int			exponent;

	if (exponent_cached(currency, &exponent))
		return exponent;
	wallet_plan(&currency_plan,
				"SELECT exponent FROM pg_wallet.currencies WHERE code = $1",
				1, argtypes);
	values[0] = CStringGetTextDatum(currency);
	if (SPI_execute_plan(currency_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "currency look-up failed");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_UNKNOWN_CURRENCY),
				 errmsg("unknown currency \"%s\"", currency),
				 errhint("Use an ISO 4217 code listed in pg_wallet.currencies.")));
	exponent = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	Assert(exponent >= 0 && exponent <= WALLET_MAX_EXPONENT);
	if (exponent_cache_n < EXPONENT_CACHE_SIZE && strlen(currency) < 4)
	{
		strlcpy(exponent_cache[exponent_cache_n].code, currency, 4);
		exponent_cache[exponent_cache_n++].exponent = exponent;
	}
	return exponent;
}

/*
 * Parse "[-+]digits[.digits]" into minor units. Returns NULL on success, or a
 * message describing what is wrong. Never throws.
 */
const char *
amount_parse_cstr(const char *s, int exponent, int64 *out)
{
	const char *p = s;
	bool		negative = false;
	int64		value = 0;
	int			ndigits = 0;
	int			nfrac = 0;

	if (*p == '-' || *p == '+')
		negative = (*p++ == '-');
	if (!isdigit((unsigned char) *p))
		return "is not a decimal number";
	for (; *p; p++)
	{
		int			digit;

		if (*p == '.')
		{
			if (nfrac > 0 || ndigits == 0 || p[1] == '\0')
				return "is not a decimal number";
			nfrac = 1;
			continue;
		}
		if (!isdigit((unsigned char) *p))
			return "is not a decimal number";
		digit = *p - '0';
		ndigits++;
		if (nfrac > 0)
		{
			if (nfrac > exponent)
			{
				if (digit != 0)
					return "has more decimal places than its currency allows";
				continue;		/* trailing zero beyond the exponent */
			}
			nfrac++;
		}
		if (pg_mul_s64_overflow(value, 10, &value) ||
			pg_add_s64_overflow(value, negative ? -digit : digit, &value))
			return "is out of range";
	}
	/* scale up to the exponent: nfrac - 1 fractional digits were read */
	for (int i = (nfrac > 0 ? nfrac - 1 : 0); i < exponent; i++)
		if (pg_mul_s64_overflow(value, 10, &value))
			return "is out of range";
	*out = value;
	return NULL;
}

/* Parse text, raising a wallet error naming the currency on failure. */
int64
amount_parse_text(const char *text, int exponent, const char *currency)
{
	int64		result;
	const char *problem = amount_parse_cstr(text, exponent, &result);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount \"%s\" %s", text, problem),
				 errdetail("%s amounts have %d decimal place%s.",
						   currency, exponent, exponent == 1 ? "" : "s")));
	return result;
}

/*
 * Canonical text of a numeric, or NULL with *problem set for NaN/infinity.
 */
const char *
amount_numeric_cstr(Datum numeric, const char **problem)
{
	Numeric		num = DatumGetNumeric(numeric);

	*problem = NULL;
	if (numeric_is_nan(num) || numeric_is_inf(num))
	{
		*problem = "must be a finite number";
		return NULL;
	}
	return DatumGetCString(DirectFunctionCall1(numeric_out, numeric));
}

int64
amount_from_numeric(Datum numeric, int exponent, const char *currency)
{
	const char *problem;
	const char *text = amount_numeric_cstr(numeric, &problem);

	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount %s", problem)));
	return amount_parse_text(text, exponent, currency);
}

/* Minor units as exact decimal text with exactly `exponent` decimals. */
char *
amount_to_cstring(int64 amount_minor, int exponent)
{
	char		digits[32];
	uint64		magnitude;
	int			len;
	StringInfoData buf;

	magnitude = amount_minor < 0 ? -(uint64) amount_minor : (uint64) amount_minor;
	len = snprintf(digits, sizeof(digits), UINT64_FORMAT, magnitude);
	initStringInfo(&buf);
	if (amount_minor < 0)
		appendStringInfoChar(&buf, '-');
	if (exponent == 0)
		appendStringInfoString(&buf, digits);
	else if (len <= exponent)
	{
		appendStringInfoString(&buf, "0.");
		for (int i = len; i < exponent; i++)
			appendStringInfoChar(&buf, '0');
		appendStringInfoString(&buf, digits);
	}
	else
	{
		appendBinaryStringInfo(&buf, digits, len - exponent);
		appendStringInfoChar(&buf, '.');
		appendStringInfoString(&buf, digits + len - exponent);
	}
	return buf.data;
}

Datum
amount_to_numeric(int64 amount_minor, int exponent)
{
	return DirectFunctionCall3(numeric_in,
							   CStringGetDatum(amount_to_cstring(amount_minor, exponent)),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* Look up a currency argument's exponent inside its own SPI connection. */
static int
exponent_of_arg(FunctionCallInfo fcinfo, int argno, char **currency)
{
	int			exponent;

	*currency = text_arg_cstring(fcinfo, argno, "currency", 3, true);
	if (exponent_cached(*currency, &exponent))
		return exponent;
	SPI_connect();
	exponent = currency_exponent(*currency);
	SPI_finish();
	return exponent;
}

/*
 * amount_parse(amount text, currency text) returns bigint
 */
Datum
wallet_amount_parse_text(PG_FUNCTION_ARGS)
{
	char	   *text;
	char	   *currency;
	int			exponent;

	text = text_arg_cstring(fcinfo, 0, "amount", 40, true);
	exponent = exponent_of_arg(fcinfo, 1, &currency);
	PG_RETURN_INT64(amount_parse_text(text, exponent, currency));
}

/*
 * amount_parse(amount numeric, currency text) returns bigint
 */
Datum
wallet_amount_parse_numeric(PG_FUNCTION_ARGS)
{
	char	   *currency;
	int			exponent;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount must not be null")));
	exponent = exponent_of_arg(fcinfo, 1, &currency);
	PG_RETURN_INT64(amount_from_numeric(PG_GETARG_DATUM(0), exponent, currency));
}

/*
 * amount_format(amount_minor bigint, currency text) returns numeric
 */
Datum
wallet_amount_format(PG_FUNCTION_ARGS)
{
	char	   *currency;
	int			exponent;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount_minor must not be null")));
	exponent = exponent_of_arg(fcinfo, 1, &currency);
	PG_RETURN_DATUM(amount_to_numeric(PG_GETARG_INT64(0), exponent));
}

PG_FUNCTION_INFO_V1(wallet_minor_to_numeric);

/*
 * minor_to_numeric(amount_minor bigint, exponent smallint) returns numeric:
 * the formatting of amount_format() without the currency look-up, for reads
 * that join pg_wallet.currencies themselves.
 */
Datum
wallet_minor_to_numeric(PG_FUNCTION_ARGS)
{
	int			exponent = PG_GETARG_INT16(1);

	if (exponent < 0 || exponent > WALLET_MAX_EXPONENT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exponent must be between 0 and %d", WALLET_MAX_EXPONENT)));
	PG_RETURN_DATUM(amount_to_numeric(PG_GETARG_INT64(0), exponent));
}

/*
 * An amount argument (numeric) as exact decimal text, refusing NULL, NaN and
 * infinities; parsed later with the currency's exponent.
 */
const char *
amount_arg_text(FunctionCallInfo fcinfo, int argno)
{
	const char *problem;
	const char *text;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount must not be null")));
	text = amount_numeric_cstr(PG_GETARG_DATUM(argno), &problem);
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount %s", problem)));
	return text;
}
