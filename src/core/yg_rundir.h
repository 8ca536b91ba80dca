/* SPDX-License-Identifier: MIT */
/* yg_rundir.h: the broker's run_dir, its paths and its records.
 *
 * yolo-gated writes these files, yolo-gatectl reads them (and takes the same
 * box locks); this module is the only code that names, writes or reads them,
 * as pam_faillock's tally format is shared by the PAM module and faillock(8).
 * Everything read back is hostile input (another process wrote it): reads
 * are bounded, parsing is strict and canonical (a record is accepted only
 * in the exact form the writer produces), and a record of another version
 * is refused with a message that says so.
 *
 *   run_dir/boxes/             0700, the service user
 *     KEY.lock                 flock(LOCK_EX) by the box's owner (a session
 *                              child, or yolo-gatectl around its reverts),
 *                              holding one line, the lock record:
 *                                yg-lock 1 SINCE HOLDER PID REVERT_MS
 *     KEY.sock                 the owner's rendezvous socket (handoff)
 *                              (KEY: the box key, DOMAIN for a box of the
 *                              host "local", DOMAIN@HOST for one of
 *                              [host:HOST]; '@' is in no domain name)
 *   run_dir/sessions/          0700, the service user
 *     ID                       the session record, replaced through ID.tmp
 *                              and a rename:
 *                                yg-session 2
 *                                box=DOMAIN
 *                                user=NAME
 *                                uid=UID
 *                                from=ADDRESS (or -)
 *                                pid=PID
 *                                started=EPOCH
 *                                last_active=EPOCH
 *                                idle_end=EPOCH (0 = none)
 *                                max_end=EPOCH (0 = none)
 *                                record=CAST_FILE_NAME (or -)
 *                                host=HOST (the box's [host:], or local)
 *                              (version 1, of a broker from before hosts,
 *                              is read too: no host= line, host local)
 *     ID.end                   yolo-gatectl end's request: a line "yg-end 1",
 *                              then the message for the user
 *   run_dir/hosts/             0700, the service user
 *     HOST                     [host:HOST] has been unreachable since SINCE:
 *                                yg-host 1 SINCE
 *                              written by the first session that could not
 *                              reach it, removed by the first that could
 *
 * In the lock record, SINCE is when it was written (epoch seconds), HOLDER a
 * session id, "yolo-gatectl" or "held" (a console kept open, console_hold),
 * PID the holder's process, REVERT_MS how long yolo-gatectl's last revert
 * took, "-" for none. Numbers are decimal without
 * sign or leading zeros; text fields are 1..N printable bytes (no control
 * character, no NUL, no newline); every line ends with a newline.
 */
#ifndef YG_RUNDIR_H
#define YG_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "yg_err.h"
#include "yg_proto.h"

/* A session id: 16 lowercase hex digits (64 random bits). */
#define YG_SESSION_ID_LEN 16

/* The version the lock record and the end request are written with, and
 * the only one read. */
#define YG_RUNDIR_VERSION 1u
/* The session record's: written with 2, read 1 (host local) and 2. */
#define YG_RUNDIR_SESSION_VERSION 2u

/* The host of a box that names none: the gate's own libvirt. */
#define YG_RUNDIR_HOST_LOCAL "local"
/* A box key, DOMAIN@HOST, with its NUL. */
#define YG_RUNDIR_KEY_MAX (2 * YG_RUNDIR_NAME_MAX + 2)

/* The lock holders that are not a session: yolo-gatectl, and a session
 * process that keeps a reverted box's console open after a logout
 * (console_hold), which yolo-gatectl may end with SIGTERM. */
#define YG_RUNDIR_ADMIN "yolo-gatectl"
#define YG_RUNDIR_HELD "held"

/* Size bounds: a record longer than this is refused. */
#define YG_RUNDIR_LOCK_MAX 128		/* the lock record, bytes */
#define YG_RUNDIR_SESSION_MAX 1024	/* the session record, bytes */
#define YG_RUNDIR_END_MAX 900		/* the end message, bytes */
#define YG_RUNDIR_HOST_MAX 64		/* the host record, bytes */
#define YG_RUNDIR_NAME_MAX YG_NAME_MAX	/* box, user, from */
#define YG_RUNDIR_RECORD_MAX 127	/* the .cast file name */
#define YG_RUNDIR_HOLDER_MAX YG_SESSION_ID_LEN	/* >= strlen(YG_RUNDIR_ADMIN) */

/* ---- session ids ---- */

/* A new random session id into id (YG_SESSION_ID_LEN + 1 bytes): 0, or
 * -errno when the kernel gives no random bytes. */
int yg_session_id_new(char *id) YG_MUST_CHECK;
/* Is id exactly YG_SESSION_ID_LEN lowercase hex digits? */
bool yg_session_id_valid(const char *id);

/* ---- paths ----
 * Each fills buf and returns 0, or -ENAMETOOLONG (the path does not fit:
 * "... is too long; use a shorter [gate] run_dir") or -EINVAL (a box name
 * that is not a plain file name, an invalid session id), with err (which
 * may be NULL) set. */
int yg_rundir_boxes_dir(char *buf, size_t len, const char *run_dir, yg_err *err) YG_MUST_CHECK;
int yg_rundir_sessions_dir(char *buf, size_t len, const char *run_dir, yg_err *err) YG_MUST_CHECK;
/* The box key of domain on host (NULL, "" or "local": the gate's own
 * libvirt) into buf (YG_RUNDIR_KEY_MAX): "DOMAIN" or "DOMAIN@HOST". Every
 * path below that takes a domain takes a box key. */
int yg_rundir_box_key(char *buf, size_t len, const char *host, const char *domain,
		      yg_err *err) YG_MUST_CHECK;
/* The other way round: 0, or -EINVAL when key is not one. */
int yg_rundir_box_key_split(const char *key, char *host, size_t hlen, char *domain,
			    size_t dlen) YG_MUST_CHECK;
/* "DOMAIN.lock", for openat() in the boxes directory. */
int yg_rundir_lock_name(char *buf, size_t len, const char *domain, yg_err *err) YG_MUST_CHECK;
int yg_rundir_lock_path(char *buf, size_t len, const char *run_dir, const char *domain,
			yg_err *err) YG_MUST_CHECK;
/* The rendezvous socket; len is typically sizeof(sun_path). */
int yg_rundir_sock_path(char *buf, size_t len, const char *run_dir, const char *domain,
			yg_err *err) YG_MUST_CHECK;
int yg_rundir_session_path(char *buf, size_t len, const char *run_dir, const char *id,
			   yg_err *err) YG_MUST_CHECK;
int yg_rundir_end_path(char *buf, size_t len, const char *run_dir, const char *id,
		       yg_err *err) YG_MUST_CHECK;

/* What a directory entry of run_dir is, by its name alone. */
enum yg_rundir_entry {
	YG_RUNDIR_OTHER = 0,	/* no name of ours */
	YG_RUNDIR_LOCK,		/* boxes/DOMAIN.lock */
	YG_RUNDIR_SOCK,		/* boxes/DOMAIN.sock */
	YG_RUNDIR_SESSION,	/* sessions/ID */
	YG_RUNDIR_SESSION_TMP,	/* sessions/ID.tmp, a record being replaced */
	YG_RUNDIR_END,		/* sessions/ID.end */
};
enum yg_rundir_entry yg_rundir_box_entry(const char *name);
enum yg_rundir_entry yg_rundir_session_entry(const char *name);

/* Copy src into a text field of a record (len bytes with the NUL): control
 * characters become '?', an empty or NULL src becomes "-", a longer one is
 * cut. What a record field may hold, whatever the source. */
void yg_rundir_text_set(char *dst, size_t len, const char *src);

/* ---- parse errors ----
 * Every parser and reader returns 0 or one of: -ENODATA (empty), -EFBIG
 * (longer than its bound), -EPROTO (a record of another version: the message
 * names both), -EINVAL (not a record, or a malformed field: the message
 * names the line and field), or another -errno from the system; err says
 * which in one sentence. */

/* ---- the lock record (run_dir/boxes/DOMAIN.lock) ---- */

struct yg_rundir_lock {
	unsigned version;		/* of a record read (written: YG_RUNDIR_VERSION) */
	long long since;		/* epoch seconds */
	char holder[YG_RUNDIR_HOLDER_MAX + 1];	/* a session id, YG_RUNDIR_ADMIN or _HELD */
	int pid;
	long revert_ms;			/* yolo-gatectl's last revert, -1 = none */
};

/* The record as one line into buf: its length, or -EINVAL (a field out of
 * range) or -EOVERFLOW (buf too small). */
int yg_rundir_lock_format(const struct yg_rundir_lock *l, char *buf, size_t len) YG_MUST_CHECK;
int yg_rundir_lock_parse(const char *buf, size_t len, struct yg_rundir_lock *out,
			 yg_err *err) YG_MUST_CHECK;
/* Replace the record in the lock file fd (held by the caller): 0, or
 * -errno (-ENOSPC for a short write: the file system is full). */
int yg_rundir_lock_write(int fd, const struct yg_rundir_lock *l) YG_MUST_CHECK;
/* Read (at most YG_RUNDIR_LOCK_MAX + 1 bytes) and parse the record of fd. */
int yg_rundir_lock_read(int fd, struct yg_rundir_lock *out, yg_err *err) YG_MUST_CHECK;

/* ---- the session record (run_dir/sessions/ID) ---- */

struct yg_rundir_session {
	unsigned version;		/* of a record read (written: YG_RUNDIR_SESSION_VERSION) */
	char box[YG_RUNDIR_NAME_MAX + 1];
	char user[YG_RUNDIR_NAME_MAX + 1];
	uid_t uid;
	char from[YG_RUNDIR_NAME_MAX + 1];	/* the client's address, "-" = local */
	int pid;			/* the session child */
	long long started, last_active;	/* epoch seconds */
	long long idle_end, max_end;	/* epoch seconds, 0 = no limit */
	char record[YG_RUNDIR_RECORD_MAX + 1];	/* .cast file name, "-" = none */
	char host[YG_RUNDIR_NAME_MAX + 1];	/* the box's host, "local" = the gate's */
};

/* The record into buf: its length, -EINVAL (a field that may not be
 * written: empty, a control character, a box name with '/', a number out of
 * range) or -EOVERFLOW (buf too small). */
int yg_rundir_session_format(const struct yg_rundir_session *s, char *buf, size_t len) YG_MUST_CHECK;
int yg_rundir_session_parse(const char *buf, size_t len, struct yg_rundir_session *out,
			    yg_err *err) YG_MUST_CHECK;
/* Replace name (relative to dirfd, or a path with AT_FDCWD) atomically:
 * written to name.tmp (0600, never through a symlink), then renamed.
 * 0, or -errno (-ENOSPC for a short write) with err. */
int yg_rundir_session_write(int dirfd, const char *name, const struct yg_rundir_session *s,
			    yg_err *err) YG_MUST_CHECK;
/* Read (bounded, a regular file only, never through a symlink) and parse. */
int yg_rundir_session_read(int dirfd, const char *name, struct yg_rundir_session *out,
			   yg_err *err) YG_MUST_CHECK;

/* ---- the end request (run_dir/sessions/ID.end) ---- */

/* Write the request with msg (at most YG_RUNDIR_END_MAX bytes) to path,
 * replacing an old one: mode 0644, created O_EXCL, never through a symlink.
 * 0 or -errno with err ("cannot write PATH: REASON"). */
int yg_rundir_end_write(const char *path, const char *msg, yg_err *err) YG_MUST_CHECK;
/* The message of a request in buf (len bytes) into msg (msglen bytes with
 * the NUL, cut to fit): control characters (NUL, newlines) become spaces. */
int yg_rundir_end_parse(const char *buf, size_t len, char *msg, size_t msglen, yg_err *err) YG_MUST_CHECK;
/* Read and remove the request at path. Trusted only when it is a regular
 * file owned by root or by trusted (the broker's own uid): -EPERM
 * otherwise; -ENOENT when there is none. msg is "" on every error. */
int yg_rundir_end_take(const char *path, uid_t trusted, char *msg, size_t msglen,
		       yg_err *err) YG_MUST_CHECK;

/* ---- the host record (run_dir/hosts/HOST) ----
 * Never for the host "local" (-EINVAL): the gate's own libvirt is not
 * "unreachable", it is down, and its users hear that from libvirt. */

int yg_rundir_hosts_dir(char *buf, size_t len, const char *run_dir, yg_err *err) YG_MUST_CHECK;
int yg_rundir_host_format(long long since, char *buf, size_t len) YG_MUST_CHECK;
int yg_rundir_host_parse(const char *buf, size_t len, long long *since, yg_err *err) YG_MUST_CHECK;
/* Since when host is down: 0, -ENOENT (it is not), or another -errno. */
int yg_rundir_host_since(const char *run_dir, const char *host, long long *since,
			 yg_err *err) YG_MUST_CHECK;
/* host did not answer at now: its record is written unless there is one
 * already; *since is the record's time (now, or the first failure's). */
int yg_rundir_host_down(const char *run_dir, const char *host, long long now,
			long long *since, yg_err *err) YG_MUST_CHECK;
/* host answered: its record is removed. 1 when there was one, 0 when not,
 * or -errno. */
int yg_rundir_host_up(const char *run_dir, const char *host);

#endif
