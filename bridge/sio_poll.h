/*
 * sio_poll.h — the HTTP long-polling requests of socket.io (sio_poll.c), over the sessions
 * of sio_session.c.
 */
#ifndef PGW_SIO_POLL_H
#define PGW_SIO_POLL_H

#include "sio_session.h"

void		sio_flush_poll(SioSession *s);
void		sio_poll_answer(SioSession *s, const char *packet);
int			sio_poll_callback(struct lws *wsi, enum lws_callback_reasons reason,
							  HttpSession *pss, void *in, size_t len);

#endif
