/* yg_agent.h: the QEMU guest agent, bounded in time; replies are untrusted
 * (read with yg_json.h, file data moved with yg_base64.h). Secret data
 * passed to yg_agent_write_file is never logged or put into an error message.
 */
#ifndef YG_AGENT_H
#define YG_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yg_base64.h"
#include "yg_box.h"
#include "yg_json.h"

/* The same poll on a bare domain, for callers that have no yg_box yet
 * (provision waits for the agent before the snapshot exists). Fails at once
 * (-EIO) when the domain stops running. */
int yg_agent_wait_domain(virDomainPtr dom, const char *name, unsigned long timeout_ms,
			 yg_err *err);

/* Poll guest-ping every ~25 ms until the agent answers or timeout_ms passes;
 * the error says the agent did not answer within N s. */
int yg_agent_wait(yg_box *box, unsigned long timeout_ms, yg_err *err);

/* Send one JSON command; *reply (malloc'd, caller frees) is the raw reply. */
int yg_agent_cmd(yg_box *box, const char *json, int timeout_s, char **reply,
		 yg_err *err);

/* Write data to path in the guest: missing parent dir created 0700, the file
 * is created mode 0600 before any data byte is written, then written with
 * guest-file-open/write (chunks <= 48 KiB)/close. */
int yg_agent_write_file(yg_box *box, const char *path, const void *data,
			size_t len, yg_err *err);

/* Overwrite path with zeros, flush, remove. A missing file is success. */
int yg_agent_wipe_file(yg_box *box, const char *path, yg_err *err);

/* Read up to max bytes of path (guest-file-read); *out malloc'd, NUL
 * terminated for convenience, *outlen bytes. */
int yg_agent_read_file(yg_box *box, const char *path, size_t max, char **out,
		       size_t *outlen, yg_err *err);

/* guest-exec argv (argv[0] is the program path) and poll guest-exec-status
 * until it exits or timeout_ms passes. *exitcode (may be NULL) is the exit
 * code, or 128+signal. */
int yg_agent_exec(yg_box *box, const char *const argv[],
		  unsigned long timeout_ms, int *exitcode, yg_err *err);

#endif
