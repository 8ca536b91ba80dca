/* SPDX-License-Identifier: MIT */
/* relayrig.h: the rig tests/unit/relaytest.c runs the relay in.
 *
 * The relay (yg_gd_relay_run) runs in a thread, as in the broker's session
 * child, on the poll loop; this side plays the console (a socketpair end
 * behind an fd endpoint) and the clients (socketpairs speaking frames; more
 * join through the real rendezvous socket). Every socket has a small send
 * buffer, so queues outside the relay stay small and measurable. The
 * console's bytes are a pattern (pat), so any loss or reordering shows.
 */
#ifndef YG_RELAYRIG_H
#define YG_RELAYRIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gated.h"

#define MAXPEERS 4
#define FRAME_PAYLOAD 1000	/* client DATA frames */
#define GATE "\r\n[yolo-gate]"	/* how the gate's own lines start */
#define LIMIT (32u << 20)	/* more than this through a stalled side = unbounded */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

/* One client, the test's end. */
struct peer {
	int fd;			/* the test's end */
	int relay_fd;		/* the relay's end, -1 once handed over */
	bool reading;		/* read what comes (else leave it queued) */
	yg_frame_in in;
	struct bytes data;	/* console bytes received */
	struct bytes gate;	/* the gate's own lines */
	bool eof;
	int exits, others;
	/* writer: w_target payload bytes of the pattern, as DATA frames */
	size_t w_target, w_done, w_bytes;
	uint8_t wbuf[5 + FRAME_PAYLOAD];
	size_t woff, wlen;
};

/* The relay and the console, the test's end. */
struct rig {
	int con, con_relay;	/* the console's socketpair */
	struct yg_ep *con_ep;
	bool con_nobp;		/* the console does not push back (a libvirt stream's way) */
	bool con_reading;
	size_t con_target, con_sent;	/* pattern bytes to write / written */
	struct bytes con_in;		/* what the relay wrote to the console */
	struct yg_gd_clients cl;
	struct yg_gd_limits lim;
	int rdv_fd, sig[2], done[2];
	pthread_t th;
	bool running;
	enum yg_gd_end end;
	/* seen by the callbacks, in the relay's thread */
	pthread_mutex_t mu;
	size_t ndetach, output;
	enum yg_gd_end why[YG_GD_CLIENTS_MAX];
	size_t left[YG_GD_CLIENTS_MAX];
	uint64_t detach_ms[YG_GD_CLIENTS_MAX];
	int nwinch;
	uint16_t rows, cols;
};

extern struct rig g;
extern struct peer peers[MAXPEERS];
/* records winch, output and detach in g; JOIN for every handoff */
extern const struct yg_gd_relay_ops rig_ops;

/* The k-th byte of the console's stream: 0x1d (the escape) comes by every
 * 251 bytes; "\r\n" never does, so no chunk looks like a gate line. */
uint8_t pat(size_t k);
void pat_fill(uint8_t *buf, size_t from, size_t len);
bool is_pat(const uint8_t *buf, size_t from, size_t len);
bool bytes_has(const struct bytes *b, const char *s);
size_t locked(const size_t *v);		/* read under g.mu */

/* cmocka set-up: a run_dir for the rendezvous (group), a fresh rig (each). */
int rig_group_setup(void **state);
int rig_group_teardown(void **state);
int rig_setup(void **state);
int rig_teardown(void **state);		/* stops a relay still running */

/* Start the relay with one client (returned); slow_ms: the slow-client
 * bound (0 = the broker's). Set g.lim first for other limits. */
struct peer *start(unsigned long slow_ms);
/* One more client, handed over through the rendezvous socket. */
struct peer *join(void);
/* Wait up to ms for the relay to return (g.end); true when it did. */
bool ended(int ms);

/* Move bytes on this side (console and peers, as their flags say) until
 * done() or ms pass; quiet_ms > 0: also stop once nothing could be written
 * for that long. Returns whether done() (or the quiet spell) came. */
bool drive(int ms, int quiet_ms, bool (*done)(void));
void con_close(void);
void send_msg(struct peer *p, const yg_msg *m);
void send_data(struct peer *p, const void *bytes, size_t len);
size_t fionread(int fd);
uint64_t relay_cpu_ms(void);		/* CPU time of the relay's thread */

/* drive() until ...; each fails the test after a bound */
void wait_con(size_t n);		/* the console got n bytes */
void wait_data(struct peer *p, size_t n);
void wait_gate(struct peer *p, const char *s);	/* a gate line with s */
void wait_detach(size_t n);		/* n clients were detached */
void wait_all(size_t n);		/* every reading peer got n bytes */
void wait_eof(struct peer *p);
void wait_winch(void);

#endif
