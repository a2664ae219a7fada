/*
 * sio_socket.h — socket.io v5 (sio_socket.c) on the Engine.IO sessions of sio_session.c:
 * its packet reader (also the fuzz target's) and what sio.c hands it.
 */
#ifndef PGW_SIO_SOCKET_H
#define PGW_SIO_SOCKET_H

#include "sio_session.h"

#define SIO_NSP_MAX 64
typedef struct SioParsed
{
	char		type;			/* '0'..'6' */
	char		nsp[SIO_NSP_MAX + 1];	/* "/" unless the packet names one */
	long long	ack;			/* -1: none */
	const char *payload;		/* within the packet */
	size_t		payload_len;
} SioParsed;
int			sio_parse(const char *d, size_t len, SioParsed *p);
const char *sio_json_member(const char *j, size_t len, const char *name, size_t *vlen);
void		sio_socket_init(void);
int			sio_socket_packet(SioSession *s, const char *data, size_t len);
void		sio_socket_closed(SioSession *s);
void		sio_socket_tick(SioSession *s);
void		sio_socket_on_event(const char *payload);


#endif
