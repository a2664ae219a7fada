/*
 * fuzz_sio.c — libFuzzer target: the socket.io packet reader of sio_socket.c (sio_parse:
 * type, namespace, ack id, payload of a client's packet) and the member look-up the bridge
 * uses on its database's replies (sio_json_member), on any bytes. The parts must lie within
 * the input and within their bounds; a member's value must lie within the text.
 */
#include "fuzz.h"
#include "sio_socket.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *) data;
	SioParsed	p;
	size_t		vlen = 0;
	const char *v;

	fuzz_setup();
	if (sio_parse(d, size, &p) == 0)
	{
		if (p.payload < d || p.payload + p.payload_len != d + size ||
			strlen(p.nsp) > SIO_NSP_MAX || p.nsp[0] != '/' || p.ack < -1 ||
			p.ack > 999999999 || p.type < '0' || p.type > '6')
			abort();
	}
	for (int k = 0; k < 3; k++)
	{
		static const char *const names[] = {"packet", "ack", "connect"};

		v = sio_json_member(d, size, names[k], &vlen);
		if (v && (v < d || v + vlen > d + size))
			abort();
	}
	return 0;
}
