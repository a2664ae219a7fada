/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Small helpers shared by the SQL-callable functions of every layer: saved
 *	  SPI plans, bounded and validated arguments, and growable columns of
 *	  Datums passed to one statement as unnest()ed arrays (so a batch of any
 *	  size is one statement). The bottom of the house: it calls nothing of
 *	  pg_wallet's.
 *
 * Owns: argument validation that every entry point repeats. Never: business
 * rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/pg_wallet.h"

/*
 * Prepare `sql` once per backend and keep the plan. The caller is connected
 * to SPI. Plans are invalidated and re-planned by the plan cache on DDL.
 */
SPIPlanPtr
wallet_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	/*
	 * Always a generic plan: the statements are fixed and their parameters
	 * are arrays whose custom plans cost as much to make as to run, so the
	 * plan cache would otherwise re-plan them on every call.
	 */
	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/*
 * A text argument as a C string, bounded in length. NULL when the argument
 * is SQL NULL and not required; an error when it is required.
 */
char *
text_arg_cstring(FunctionCallInfo fcinfo, int argno, const char *what, int max_len,
				 bool required)
{
	text	   *t;
	char	   *s;

	if (PG_ARGISNULL(argno))
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", what)));
		return NULL;
	}
	t = PG_GETARG_TEXT_PP(argno);
	if (VARSIZE_ANY_EXHDR(t) > max_len)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is longer than %d bytes", what, max_len)));
	s = text_to_cstring(t);
	if (required && s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	return s;
}

/*
 * An upper-case code such as a journal type: [A-Z][A-Z0-9_]{1,39}.
 */
void
wallet_check_code(const char *value, const char *what)
{
	size_t		len = strlen(value);
	bool		ok = len >= 2 && len <= 40 && value[0] >= 'A' && value[0] <= 'Z';

	for (size_t i = 1; ok && i < len; i++)
		ok = (value[i] >= 'A' && value[i] <= 'Z') ||
			(value[i] >= '0' && value[i] <= '9') || value[i] == '_';
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" is not a valid code", what, value),
				 errhint("Use 2 to 40 upper-case letters, digits or underscores, "
						 "starting with a letter.")));
}

/* The row type a composite-returning function must build its result in. */
TupleDesc
wallet_result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return tupdesc;
}

/* ---------------------------------------------------------------------
 * Columns and arrays
 * ---------------------------------------------------------------------
 */
void
column_init(Column *col, Oid type)
{
	col->type = type;
	col->n = 0;
	col->cap = 16;
	col->values = palloc(sizeof(Datum) * col->cap);
	col->nulls = palloc(sizeof(bool) * col->cap);
}

void
column_add(Column *col, Datum value, bool isnull)
{
	if (col->n == col->cap)
	{
		col->cap *= 2;
		col->values = repalloc(col->values, sizeof(Datum) * col->cap);
		col->nulls = repalloc(col->nulls, sizeof(bool) * col->cap);
	}
	col->values[col->n] = value;
	col->nulls[col->n] = isnull;
	col->n++;
}

Datum
column_array(Column *col)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {col->n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(col->type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(col->values, col->nulls, 1, dims, lbs,
											  col->type, typlen, typbyval, typalign));
}

Datum
text_datum_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

Datum
bytea_datum(const uint8 *bytes, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return PointerGetDatum(b);
}

/* ---------------------------------------------------------------------
 * Reading SPI result columns
 * ---------------------------------------------------------------------
 */

/* An int8 column of a result row; -1 when NULL (columns read this way are >= 0). */
int64
get_int64(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

/* A boolean column of a result row; false when NULL. */
bool
get_bool(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return !isnull && DatumGetBool(d);
}
