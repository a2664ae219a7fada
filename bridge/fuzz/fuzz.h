/*
 * fuzz.h — what the libFuzzer targets of the bridge share (bridge/fuzz/README.md): the
 * configuration (the bridge's defaults), a request slot with its buffers allocated as
 * slot.c does, and the check that a text the bridge built is one bounded JSON object.
 * Only for the fuzzers; never linked into pg_wallet_bridge.
 */
#ifndef PGW_FUZZ_H
#define PGW_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static BridgeConfig fuzz_cfg;
static RequestSlot fuzz_slot;

/* The defaults, the profiles mounted, one slot; once per process. */
static void
fuzz_setup(void)
{
	static int	done;
	char	   *argv[] = {"fuzz", NULL};

	if (done)
		return;
	done = 1;
	if (config_load(&fuzz_cfg, 1, argv) != 0)
		abort();
	profiles_init(&fuzz_cfg);
	limits_init(&fuzz_cfg);
	fuzz_slot.args_cap = fuzz_cfg.body_bytes_max + PGW_PATH_MAX * 2 +
		PGW_QUERY_ARGS_MAX * 1100 + 512;
	fuzz_slot.reply_cap = fuzz_cfg.response_bytes_max;
	fuzz_slot.body = malloc(fuzz_cfg.body_bytes_max + 1);
	fuzz_slot.args = malloc(fuzz_slot.args_cap);
	if (!fuzz_slot.body || !fuzz_slot.args)
		abort();
}

/* A text the bridge built must be valid JSON: a crash (a finding) otherwise. */
static void
fuzz_assert_json(const char *what, const char *text, size_t len)
{
	const char *why = NULL;

	if (json_check(text, len, 64, 1000000, &why) != 0)
	{
		fprintf(stderr, "%s is not valid JSON (%s): %.*s\n", what, why ? why : "?",
				(int) (len > 400 ? 400 : len), text);
		abort();
	}
}

#endif
