/*-------------------------------------------------------------------------
 *
 * fraud_factors.c
 *	  The factors of a fraud score, each 0..100 with a note of what it found
 *	  (fraud_explain.c renders the note as a one-line explanation),
 *	  computed from the owner's running statistics in the currency
 *	  (fraud_stats.c), the request context and what the posting path probed
 *	  for the request (the credited account's novelty, the IP reputation):
 *	  never from history. docs/fraud.md has the table of factors, their
 *	  formulas and defaults; fraud.c weighs them into the score.
 *
 * Owns: the formulas. Never: reads or writes a table (the callers hand in
 * everything a factor needs, so the preview and the posting path score
 * alike); uses floating point for money (the great-circle distance is in
 * float8: a distance, not an amount).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/timestamp.h"

#include "rules/fraud.h"

#define EARTH_RADIUS_KM 6371.0
#define NEAR_KM 100				/* closer than this to the last location: no anomaly */

/* What the factor found: its note and the note's numbers (fraud.h). */
static void
note(FraudFactor *f, FraudNote n, int64 a0, int64 a1, int64 a2, int64 a3)
{
	f->note = n;
	f->args[0] = a0;
	f->args[1] = a1;
	f->args[2] = a2;
	f->args[3] = a3;
}

static int64
isqrt64(int64 v)
{
	int64		r = 0;

	for (int64 bit = ((int64) 1) << 62; bit > 0; bit >>= 2)
	{
		if (v >= r + bit)
		{
			v -= r + bit;
			r = (r >> 1) + bit;
		}
		else
			r >>= 1;
	}
	return r;
}

/*
 * Amount deviation: how many standard deviations the amount lies above the
 * owner's mean (z), with the deviation floored at a tenth of the mean (and
 * one minor unit) so that a steady history does not make any change
 * extreme; score = 25 per unit of z, 100 from z = 4. Amounts at or below
 * the mean, and owners with fewer than two earlier postings, score 0.
 */
static void
factor_amount(const FraudStats *st, int64 amount_minor, FraudFactor *f)
{
	int128		x = (int128) amount_minor * 10000;
	int128		mean = st->mean_e4;
	int128		var,
				floor_sd,
				d2,
				q;
	int64		z_e2;
	int64		ratio_e1;

	if (st->tx_count < 2)
	{
		f->score = 0;
		note(f, FN_AMOUNT_HISTORY, st->tx_count, 0, 0, 0);
		return;
	}
	if (x <= mean || mean <= 0)
	{
		f->score = 0;
		note(f, FN_AMOUNT_WITHIN, 0, 0, 0, 0);
		return;
	}
	var = st->m2_e8 / (st->tx_count - 1);
	floor_sd = Max(mean / 10, 10000);
	var = Max(var, floor_sd * floor_sd);
	ratio_e1 = (int64) Min((x * 10) / mean, (int128) PG_INT64_MAX);
	if (x - mean > (((int128) 1) << 56) ||
		__builtin_mul_overflow((x - mean), (x - mean), &d2) ||
		__builtin_mul_overflow(d2, (int128) 10000, &d2) ||
		(q = d2 / var) > (int128) 1000000000000)
		z_e2 = 1000000;
	else
		z_e2 = isqrt64((int64) q);
	f->score = (int) Min(z_e2 / 4, 100);
	note(f, FN_AMOUNT_ABOVE, ratio_e1, z_e2, 0, 0);
}

static void
factor_device(const FraudStats *st, const FraudContext *ctx, FraudFactor *f)
{
	if (ctx == NULL || !ctx->has_device)
	{
		f->score = 0;
		note(f, FN_DEVICE_NONE, 0, 0, 0, 0);
	}
	else if (st->device_known)
	{
		f->score = 0;
		note(f, FN_DEVICE_KNOWN, 0, 0, 0, 0);
	}
	else if (st->tx_count == 0)
	{
		f->score = 50;
		note(f, FN_DEVICE_FIRST, 0, 0, 0, 0);
	}
	else
	{
		f->score = 80;
		note(f, FN_DEVICE_NEW, 0, 0, 0, 0);
	}
}

/*
 * Velocity: postings in the owner's current minute and hour windows, this
 * one included (c); each window scores (c - 1) x 100 / its ceiling, capped
 * at 100; the factor is the higher of the two.
 */
static void
factor_velocity(const FraudSettings *s, const FraudStats *st, TimestampTz now,
				FraudFactor *f)
{
	int64		m = fraud_in_window(st->minute_start, now, USECS_PER_MINUTE) ?
		st->minute_count : 0;
	int64		h = fraud_in_window(st->hour_start, now, USECS_PER_HOUR) ? st->hour_count : 0;
	int64		sm = Min(m * 100 / s->max_per_minute, 100);
	int64		sh = Min(h * 100 / s->max_per_hour, 100);

	f->score = (int) Max(sm, sh);
	note(f, FN_VELOCITY, m + 1, h + 1, s->max_per_minute, s->max_per_hour);
}

static void
factor_country(const FraudStats *st, const FraudContext *ctx, FraudFactor *f)
{
	f->score = 0;
	if (ctx == NULL || ctx->country[0] == '\0')
	{
		note(f, FN_GEO_NO_COUNTRY, 0, 0, 0, 0);
		return;
	}
	if (st->ncountries == 0)
	{
		note(f, FN_GEO_NO_HISTORY, 0, 0, 0, 0);
		return;
	}
	for (int i = 0; i < st->ncountries; i++)
		if (strcmp(st->countries[i], ctx->country) == 0)
		{
			note(f, FN_GEO_CONSISTENT, 0, 0, 0, 0);
			return;
		}
	f->score = 70;
	note(f, FN_GEO_COUNTRY, ((int64) (unsigned char) ctx->country[0] << 8) |
		 (unsigned char) ctx->country[1], 0, 0, 0);
}

static void
factor_ip(const FraudContext *ctx, bool has_rep, int ip_score, FraudFactor *f)
{
	f->score = 0;
	if (ctx == NULL || !ctx->has_ip)
		note(f, FN_IP_NONE, 0, 0, 0, 0);
	else if (!has_rep)
		note(f, FN_IP_NO_ENTRY, 0, 0, 0, 0);
	else
	{
		f->score = ip_score;
		note(f, FN_IP_LISTED, 0, 0, 0, 0);
	}
}

/*
 * The great-circle distance between two points given in millionths of a
 * degree, in whole kilometres (haversine; float8 is fine: not money).
 */
static int64
distance_km(int32 lat1_e6, int32 lon1_e6, int32 lat2_e6, int32 lon2_e6)
{
	double		rad = M_PI / 180.0 / 1e6;
	double		dlat = (lat2_e6 - lat1_e6) * rad;
	double		dlon = ((double) lon2_e6 - lon1_e6) * rad;
	double		a = sin(dlat / 2) * sin(dlat / 2) +
		cos(lat1_e6 * rad) * cos(lat2_e6 * rad) * sin(dlon / 2) * sin(dlon / 2);

	a = Min(Max(a, 0.0), 1.0);
	return (int64) (2 * EARTH_RADIUS_KM * asin(sqrt(a)) + 0.5);
}

/*
 * Coordinates: the distance from the owner's last located posting in the
 * currency, and the speed it implies. Over max_travel_kmh from NEAR_KM on
 * (impossible travel) scores 100; else 70 from 2000 km, 50 from 500 km,
 * 30 from NEAR_KM. No coordinates, or none known before: 0.
 */
static void
factor_coordinates(const FraudSettings *s, const FraudStats *st, const FraudContext *ctx,
				   TimestampTz now, FraudFactor *f)
{
	int32		lat,
				lon;
	int64		km,
				elapsed_us;

	f->score = 0;
	if (!fraud_context_location(ctx, &lat, &lon))
	{
		note(f, FN_GEO_NO_COORDS, 0, 0, 0, 0);
		return;
	}
	if (st->located_at == DT_NOBEGIN)
	{
		note(f, FN_GEO_NO_LOCATION, 0, 0, 0, 0);
		return;
	}
	km = distance_km(st->lat_e6, st->lon_e6, lat, lon);
	elapsed_us = Max(now - st->located_at, 0);
	if (km >= NEAR_KM &&
		(int128) km * USECS_PER_HOUR > (int128) s->max_travel_kmh * elapsed_us)
	{
		f->score = 100;
		note(f, FN_GEO_IMPOSSIBLE, km, elapsed_us / USECS_PER_MINUTE, s->max_travel_kmh, 0);
		return;
	}
	f->score = km >= 2000 ? 70 : km >= 500 ? 50 : km >= NEAR_KM ? 30 : 0;
	note(f, FN_GEO_DISTANCE, f->score > 0 ? km : NEAR_KM, 0, 0, 0);
}

/*
 * Geographic anomaly: the higher of the country's score and the
 * coordinates' (the country's explanation on a tie, unless only
 * coordinates were given).
 */
static void
factor_geo(const FraudSettings *s, const FraudStats *st, const FraudContext *ctx,
		   TimestampTz now, FraudFactor *f)
{
	FraudFactor coords;

	factor_country(st, ctx, f);
	if (ctx == NULL || ctx->lat[0] == '\0' || ctx->lon[0] == '\0')
		return;
	factor_coordinates(s, st, ctx, now, &coords);
	if (coords.score > f->score || ctx->country[0] == '\0')
		*f = coords;
}

/*
 * New beneficiary: the credited account (leg 2) of another owner, not a
 * system account, that this owner has never paid: 60, or 30 on the owner's
 * first scored posting (every payee is new then).
 */
static void
factor_beneficiary(const FraudStats *st, FraudBeneficiary ben, FraudFactor *f)
{
	f->score = 0;
	if (ben == FB_NONE)
		note(f, FN_BENEFICIARY_NONE, 0, 0, 0, 0);
	else if (ben == FB_KNOWN)
		note(f, FN_BENEFICIARY_KNOWN, 0, 0, 0, 0);
	else if (st->tx_count == 0)
	{
		f->score = 30;
		note(f, FN_BENEFICIARY_FIRST, 0, 0, 0, 0);
	}
	else
	{
		f->score = 60;
		note(f, FN_BENEFICIARY_NEW, 0, 0, 0, 0);
	}
}

/*
 * Credential change: the first scored posting after the owner's password
 * or phone changed (the stamp pg_wallet._fraud_note_credential_change left
 * in the statistics row, cleared by the posting), within
 * credential_window_hours: 100 at the change, falling linearly to 50 at the
 * end of the window.
 */
static void
factor_credential(const FraudSettings *s, const FraudStats *st, TimestampTz now,
				  FraudFactor *f)
{
	int64		window_us = (int64) s->credential_window_h * USECS_PER_HOUR;
	int64		elapsed_us;

	f->score = 0;
	if (st->credential_change[0] == '\0' || st->credential_changed_at == DT_NOBEGIN ||
		now - st->credential_changed_at >= window_us)
	{
		note(f, FN_CREDENTIAL_NONE, s->credential_window_h, 0, 0, 0);
		return;
	}
	elapsed_us = Max(now - st->credential_changed_at, 0);
	f->score = (int) (100 - 50 * elapsed_us / window_us);
	note(f, FN_CREDENTIAL_AFTER, elapsed_us / USECS_PER_MINUTE,
		 strcmp(st->credential_change, "phone") == 0 ? 2 : 1, 0, 0);
}

/*
 * Round amount just under a limit: the smallest round threshold above the
 * amount, T = 1, 2 or 5 x 10^k major units with T >= round_from_major; an
 * amount less than T by at most round_margin_bp hundredths of a per cent
 * scores 100 one minor unit under T, falling linearly to 50 at the margin.
 * A round amount itself, or one further below, scores 0.
 */
static void
factor_round(const FraudSettings *s, const FraudStats *st, int64 amount_minor, int exponent,
			 FraudFactor *f)
{
	static const int steps[3] = {1, 2, 5};
	int64		unit = 1;
	int64		from;
	int64		threshold = 0;
	int64		gap;

	for (int i = 0; i < exponent; i++)
		unit *= 10;
	f->score = 0;
	if (__builtin_mul_overflow(s->round_from_major, unit, &from))
		from = PG_INT64_MAX;
	for (int64 p = 1; threshold == 0; p *= 10)
	{
		for (int i = 0; i < 3 && threshold == 0; i++)
			if (p <= PG_INT64_MAX / steps[i] && p * steps[i] > amount_minor &&
				p * steps[i] >= from)
				threshold = p * steps[i];
		if (p > PG_INT64_MAX / 10)
			break;
	}
	if (threshold == 0 ||
		(int128) (threshold - amount_minor) * 10000 > (int128) threshold * s->round_margin_bp)
	{
		note(f, FN_ROUND_NO, 0, 0, 0, 0);
		return;
	}
	gap = threshold - amount_minor;
	f->score = (int) (100 - (int128) 50 * (gap - 1) * 10000 /
					  ((int128) threshold * s->round_margin_bp));
	note(f, FN_ROUND_UNDER, gap, threshold, exponent, 0);
}

/*
 * Every factor of one request, in FraudFactorKind order (weights not set).
 */
void
fraud_factors(const FraudSettings *s, const FraudStats *st, const FraudContext *ctx,
			  int64 amount_minor, int exponent, FraudBeneficiary ben, bool has_ip_rep,
			  int ip_score, TimestampTz now, FraudFactor *out)
{
	factor_amount(st, amount_minor, &out[FF_AMOUNT]);
	factor_device(st, ctx, &out[FF_DEVICE]);
	factor_velocity(s, st, now, &out[FF_VELOCITY]);
	factor_geo(s, st, ctx, now, &out[FF_GEO]);
	factor_ip(ctx, has_ip_rep, ip_score, &out[FF_IP]);
	factor_beneficiary(st, ben, &out[FF_BENEFICIARY]);
	factor_credential(s, st, now, &out[FF_CREDENTIAL]);
	factor_round(s, st, amount_minor, exponent, &out[FF_ROUND]);
}
