/* SPDX-License-Identifier: MIT */
/* reply.c: the frames a session child writes to its clients (READY, ERROR,
 * EXIT, PROGRESS), each bounded in time (YG_GD_SEND_TIMEOUT_MS), through
 * the codec. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "session.h"

static int send_text(int fd, uint8_t type, uint32_t num, const char *fmt, va_list ap)
{
	yg_msg m = { .type = type };
	char *text;
	size_t max;

	if (type == YG_MSG_ERROR) {
		m.u.error.code = num;
		text = m.u.error.text;
		max = sizeof(m.u.error.text);
	} else if (type == YG_MSG_EXIT) {
		m.u.exit.status = num;
		text = m.u.exit.reason;
		max = sizeof(m.u.exit.reason);
	} else {
		text = m.u.progress.text;
		max = sizeof(m.u.progress.text);
	}
	vsnprintf(text, max, fmt, ap);
	return yg_msg_send(fd, &m, YG_GD_SEND_TIMEOUT_MS);
}

int yg_gd_send_error(int fd, uint32_t code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = send_text(fd, YG_MSG_ERROR, code, fmt, ap);
	va_end(ap);
	return r;
}

int yg_gd_send_fmt(int fd, uint8_t type, uint32_t num, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = send_text(fd, type, num, fmt, ap);
	va_end(ap);
	return r;
}

int yg_gd_send_exit(int fd, uint32_t status, const char *reason)
{
	return yg_gd_send_fmt(fd, YG_MSG_EXIT, status, "%s", reason);
}

void yg_gd_progress(struct yg_gd_sess *s, const char *fmt, ...)
{
	va_list ap;

	if (s->fd < 0)
		return;
	va_start(ap, fmt);
	send_text(s->fd, YG_MSG_PROGRESS, 0, fmt, ap);	/* best effort */
	va_end(ap);
}

int yg_gd_send_ready(struct yg_gd_sess *s, int fd)
{
	yg_msg m = { .type = YG_MSG_READY };

	snprintf(m.u.ready.session, sizeof(m.u.ready.session), "%s", s->id);
	snprintf(m.u.ready.box, sizeof(m.u.ready.box), "%s", s->u.domain);
	m.u.ready.escape = s->u.escape < 0 ? YG_ESCAPE_NONE : (uint16_t)s->u.escape;
	return yg_msg_send(fd, &m, YG_GD_SEND_TIMEOUT_MS);
}
