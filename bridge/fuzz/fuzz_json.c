/*
 * fuzz_json.c — libFuzzer target: json_check (bridge/json.c) on any bytes, with the bridge's
 * default bounds and with tight ones; json_escape of the same bytes must make a string
 * that json_check accepts inside an object.
 */
#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char esc[6 * 4096 + 16];
	const char *why = NULL;
	const char *text = (const char *) data;
	size_t		k;

	fuzz_setup();
	if (size > 65536)
		return 0;
	(void) json_check(text, size, fuzz_cfg.json_depth_max, fuzz_cfg.json_fields_max, &why);
	why = NULL;
	(void) json_check(text, size, 2, 3, &why);
	if (size > 4096)
		return 0;
	memcpy(esc, "{\"k\":\"", 6);
	k = json_escape(esc + 6, sizeof(esc) - 8, text, size);
	if (k == (size_t) -1)
		abort();				/* 6 bytes an input byte at most: it must fit */
	memcpy(esc + 6 + k, "\"}", 2);
	fuzz_assert_json("an escaped string", esc, k + 8);
	return 0;
}
