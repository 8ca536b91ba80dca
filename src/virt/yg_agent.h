/* SPDX-License-Identifier: MIT */
/* yg_agent.h: the QEMU guest agent, bounded in time; replies are untrusted
 * (read with yg_json.h, file data moved with yg_base64.h). Secret data
 * passed to yg_agent_write_file is never logged or put into an error message.
 *
 * Every command goes through one transport (libvirt's
 * virDomainQemuAgentCommand unless a test sets another), so the sequences
 * below are tested against scripted agents: tests/unit/agentseqtest.c.
 */
#ifndef YG_AGENT_H
#define YG_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yg_base64.h"
#include "yg_box.h"
#include "yg_json.h"
#include "yg_err.h"

#define YG_AGENT_REPLY_MAX (1024u * 1024)	/* longest reply accepted */
#define YG_AGENT_CHUNK (48u * 1024)		/* guest-file-write/read chunk */
#define YG_AGENT_TTY_MAX 16			/* "/dev/ttyS999" and its NUL */

/* How commands reach the agent. cmd sends json to dom's agent, waiting at
 * most timeout_s, and returns 0 with *reply malloc'd: *replylen bytes (the
 * guest's, untrusted: they may hold a NUL or not be JSON) followed by a NUL.
 * Or a negative errno (-ETIMEDOUT: the agent did not answer) with *reply
 * NULL and err holding the cause as printable ASCII, e.g. libvirt's message
 * "Guest agent is not responding: ...". */
typedef struct yg_agent_transport {
	int (*cmd)(void *ctx, virDomainPtr dom, const char *json, int timeout_s,
		   char **reply, size_t *replylen, yg_err *err);
	void *ctx;
} yg_agent_transport;

/* Route every agent command of this process through t (which must outlive
 * its use); NULL restores libvirt's. For tests: not thread safe, set it
 * before any box is used. */
void yg_agent_set_transport(const yg_agent_transport *t);

/* The same poll on a bare domain, for callers that have no yg_box yet
 * (provision waits for the agent before the snapshot exists). Fails at once
 * (-EIO) when the domain stops running. */
int yg_agent_wait_domain(virDomainPtr dom, const char *name, unsigned long timeout_ms,
			 yg_err *err) YG_MUST_CHECK;

/* Poll guest-ping every ~25 ms until the agent answers with a well-formed
 * reply or timeout_ms passes; the error says the agent did not answer within
 * N s, and gives the last error. */
int yg_agent_wait(yg_box *box, unsigned long timeout_ms, yg_err *err) YG_MUST_CHECK;

/* Send one JSON command; *reply (malloc'd, caller frees) is the reply: at
 * most YG_AGENT_REPLY_MAX bytes, one JSON object without an "error" member
 * (an agent error is -EIO with its desc, made printable, in err). */
int yg_agent_cmd(yg_box *box, const char *json, int timeout_s, char **reply,
		 yg_err *err) YG_MUST_CHECK;

/* Write data to path in the guest: missing parent dir created 0700, the file
 * is created mode 0600 before any data byte is written, then written with
 * guest-file-open/write (chunks <= YG_AGENT_CHUNK)/flush/close. The data is
 * base64-encoded only into locked memory (yg_secure_alloc), straight into
 * the command that carries it, wiped after. It follows symlinks and checks
 * no file system: for keys use yg_agent_inject. */
int yg_agent_write_file(yg_box *box, const char *path, const void *data,
			size_t len, yg_err *err) YG_MUST_CHECK;

/* yg_inject.c: the keys. Put data at path in the guest only onto a tmpfs
 * and never through a symlink: one guest-exec checks every directory of
 * path (not a symlink, owned by root, not writable by others unless
 * sticky; a missing one is made 0711), makes sure the file's directory is
 * a tmpfs (ramfs too) or mounts a fresh tmpfs on it when it is empty,
 * creates the file (O_EXCL, mode 0600) and gives it to owner (user or
 * user:group, a name or id in the guest; NULL or "" = root; a non-root
 * owner gets go+x on the directory); then guest-file-open/write/flush/close
 * as yg_agent_write_file. Refused with a sentence that says which part of
 * the rule failed and how to fix it: -ELOOP symlink, -EPERM a directory
 * others can write, -EXDEV not a tmpfs and none could be mounted, -ENOENT
 * the owner is unknown in the guest, -EINVAL a bad path or owner (nothing
 * sent). */
int yg_agent_inject(yg_box *box, const char *path, const char *owner, const void *data,
		    size_t len, yg_err *err) YG_MUST_CHECK;

/* Why the key rule refuses path in box (the same sentences whichever
 * daemon in the guest found it): YG_KEYS_* below, the error it returns. */
enum {
	YG_KEYS_SYMLINK = 10,	/* a symlink on the path */
	YG_KEYS_MKDIR = 11,	/* a directory cannot be made or made searchable */
	YG_KEYS_OWNER_DIR = 12,	/* a directory others could change */
	YG_KEYS_DISK = 13,	/* not a tmpfs, not empty */
	YG_KEYS_MOUNT = 14,	/* not a tmpfs, and mounting one failed */
	YG_KEYS_CREATE = 15,	/* the file cannot be made */
	YG_KEYS_NOUSER = 16,	/* the owner is unknown in the guest */
	YG_KEYS_FSTYPE = 17,	/* the file system type is unknown */
};
int yg_keys_refused(const char *box, const char *path, int why, yg_err *err);

/* Overwrite path with zeros, flush, remove. A missing file is success. */
int yg_agent_wipe_file(yg_box *box, const char *path, yg_err *err) YG_MUST_CHECK;

/* Read up to max bytes of path (guest-file-read); *out malloc'd, NUL
 * terminated for convenience, *outlen bytes. */
int yg_agent_read_file(yg_box *box, const char *path, size_t max, char **out,
		       size_t *outlen, yg_err *err) YG_MUST_CHECK;

/* guest-exec argv (argv[0] is the program path) and poll guest-exec-status
 * until it exits or timeout_ms passes. *exitcode (may be NULL) is the exit
 * code, or 128+signal. */
int yg_agent_exec(yg_box *box, const char *const argv[],
		  unsigned long timeout_ms, int *exitcode, yg_err *err) YG_MUST_CHECK;

/* guest-exec argv without waiting for it (guest-exec-status is never
 * asked); *pid is the guest's pid. */
int yg_agent_spawn(yg_box *box, const char *const argv[], int timeout_s, long long *pid,
		   yg_err *err) YG_MUST_CHECK;

/* yg_agent_tty.c */
/* The guest tty of a console device of the policy (`console`, a libvirt
 * alias): NULL or "" (the first console) and serialN -> /dev/ttySN;
 * console0 -> /dev/hvc0 and consoleN (N >= 1) -> /dev/hvc(N-1): libvirt
 * counts the consoles with the serial port that the first <console> of a
 * domain with a <serial> mirrors (as yolo-gatectl provision defines boxes),
 * so there the first virtio console is console1; a domain with only virtio
 * consoles calls its first one console0. N has 1 to 3 digits. Anything else
 * (parallelN, channels, ...) is -EINVAL: no guest tty is guessed. tty holds
 * len bytes (YG_AGENT_TTY_MAX is enough). */
int yg_agent_console_tty(const char *dev, char *tty, size_t len, yg_err *err) YG_MUST_CHECK;

/* stty -F tty rows R cols C in the guest (guest-exec, waited for, 3 s).
 * tty must be /dev/ttySN or /dev/hvcN (N 1 to 3 digits; -EINVAL, nothing
 * sent, otherwise); rows and cols non-zero. It reaches the guest's shell
 * only as a positional parameter, never inside the script. */
int yg_agent_set_winsize(yg_box *box, const char *tty, uint16_t rows, uint16_t cols,
			 yg_err *err) YG_MUST_CHECK;

/* Make the guest write "\r\n" to tty (one guest-exec, 2 s, not waited
 * for): QEMU's pty chardev then notices a newly attached console reader at
 * once. tty as for yg_agent_set_winsize. */
int yg_agent_console_wake(yg_box *box, const char *tty, yg_err *err) YG_MUST_CHECK;

#endif
