/*
 * fuzz_ws.c — libFuzzer target: a WebSocket text message from its fragments to the call's
 * envelope, as ws.c does it (message_append, message_verdict in bridge/message.c, then
 * slot_args_envelope in slot.c). Input: records of one byte (bit 7: final fragment, bits
 * 0-6: length) and that many bytes. Messages are bounded at 512 bytes here so that the
 * too-large path is reached. A message that passes must make a valid JSON envelope.
 */
#include "fuzz.h"

#define FUZZ_MSG_CAP 512

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char msg[FUZZ_MSG_CAP];
	size_t		used = 0, i = 0;
	int			too_big = 0;

	fuzz_setup();
	while (i < size)
	{
		int			final = data[i] & 0x80;
		size_t		len = data[i] & 0x7f;
		const char *why;

		i++;
		if (len > size - i)
			len = size - i;
		message_append(msg, &used, sizeof(msg), &too_big, data + i, len);
		i += len;
		if (used > sizeof(msg))
			abort();
		if (!final && i < size)
			continue;
		why = message_verdict(msg, used, too_big, fuzz_cfg.json_depth_max,
							  fuzz_cfg.json_fields_max);
		if (!why)
		{
			RequestSlot *s = &fuzz_slot;
			size_t		n;

			if (too_big)
				abort();
			slot_new_request_id(s);
			memcpy(s->body, msg, used);
			s->body_len = used;
			if (slot_args_envelope(s) != 0)
				abort();		/* a bounded message always fits its envelope */
			n = strlen(s->args);
			fuzz_assert_json("a message's envelope", s->args, n);
		}
		used = 0;
		too_big = 0;
	}
	return 0;
}
