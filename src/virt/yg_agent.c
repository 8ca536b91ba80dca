/* SPDX-License-Identifier: MIT */
/* yg_agent.c: guest agent commands, see yg_agent.h.
 *
 * Every reply is untrusted: its size is bounded, it must be one well-formed
 * JSON object without a NUL, and only the members we need are read from it.
 * Secret data (the bytes given to yg_agent_write_file) and its base64 live
 * only in locked memory (yg_secure_alloc), wiped when freed, and never reach
 * an error message. Replies are wiped before they are freed (an agent may
 * quote what it was sent). Commands are built here with yg_sb and
 * yg_json_quote, never by hand elsewhere. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "yg_agent_int.h"
#include "yg_file.h"
#include "yg_time.h"

#define YG_AGENT_READ_MAX (64u * 1024 * 1024)	/* yg_agent_read_file */
#define YG_AGENT_FIX "is qemu-guest-agent running in the guest?"

void yg_agent_wipe_mem(void *p, size_t n)
{
	if (!p)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
#endif
}

/* A checked reply has no NUL inside, so strlen covers all of it. */
static void yg_reply_free(char *r)
{
	if (r)
		yg_agent_wipe_mem(r, strlen(r));
	free(r);
}

/* Copy msg into buf as printable ASCII: libvirt's messages and the agent's
 * error descs can quote the guest's bytes (e.g. "cannot parse json <a reply
 * line>"), which must not reach a terminal or the log raw. */
static void yg_make_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void yg_copy_printable(char *buf, size_t len, const char *msg)
{
	snprintf(buf, len, "%s", msg);
	yg_make_printable(buf);
}

/* ---- a bounded string builder for commands ---- */

typedef struct yg_sb {
	char *buf;
	size_t len, cap;
	int rc;				/* first error, sticky */
	bool secure;			/* buf in locked memory: it holds key data */
} yg_sb;

static void yg_sb_release(const yg_sb *sb, char *buf, size_t cap)
{
	if (sb->secure) {
		yg_secure_free(buf, cap);
	} else {
		yg_agent_wipe_mem(buf, cap);
		free(buf);
	}
}

static void yg_sb_reserve(yg_sb *sb, size_t more)
{
	size_t cap;
	char *n;

	if (sb->rc || sb->len + more < sb->cap)
		return;
	cap = (sb->len + more + 1) * 2;
	n = sb->secure ? yg_secure_alloc(cap) : malloc(cap);
	if (!n) {
		sb->rc = -ENOMEM;
		return;
	}
	if (sb->buf) {
		memcpy(n, sb->buf, sb->len + 1);
		yg_sb_release(sb, sb->buf, sb->cap);
	}
	sb->buf = n;
	sb->cap = cap;
}

static void yg_sb_add(yg_sb *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void yg_sb_add(yg_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->rc = sb->rc ? sb->rc : -EINVAL;
		return;
	}
	yg_sb_reserve(sb, (size_t)n + 1);
	if (sb->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

static void yg_sb_quote(yg_sb *sb, const char *s)
{
	size_t need = strlen(s) * 6 + 3;

	yg_sb_reserve(sb, need);
	if (sb->rc)
		return;
	if (yg_json_quote(sb->buf + sb->len, sb->cap - sb->len, s) < 0)
		sb->rc = -ERANGE;
	else
		sb->len += strlen(sb->buf + sb->len);
}

/* The base64 of n bytes, encoded straight into the buffer: the secret
 * passes through no other memory (not printf's). */
static void yg_sb_b64(yg_sb *sb, const void *p, size_t n)
{
	yg_sb_reserve(sb, yg_b64_enc_len(n) + 1);
	if (sb->rc)
		return;
	sb->len += yg_b64_encode(p, n, sb->buf + sb->len);
}

/* Empty it for the next command, keeping (and wiping) the buffer. */
static void yg_sb_reset(yg_sb *sb)
{
	if (sb->buf) {
		yg_agent_wipe_mem(sb->buf, sb->len);
		sb->buf[0] = '\0';
	}
	sb->len = 0;
}

static void yg_sb_free(yg_sb *sb)
{
	if (sb->buf)
		yg_sb_release(sb, sb->buf, sb->cap);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

/* ---- the transport ---- */

static int yg_agent_libvirt_cmd(void *ctx, virDomainPtr dom, const char *json, int timeout_s,
				char **reply, size_t *replylen, yg_err *err)
{
	char msg[YG_ERR_MSG_MAX];
	virErrorPtr e;
	int rc;

	(void)ctx;
	*reply = virDomainQemuAgentCommand(dom, json, timeout_s, 0);
	if (*reply) {
		*replylen = strlen(*reply);
		return 0;
	}
	e = virGetLastError();
	rc = yg_box_virt_err(NULL, "guest agent");	/* libvirt's code as an errno */
	yg_copy_printable(msg, sizeof(msg), e && e->message && e->message[0] ? e->message :
			  "unknown libvirt error");
	return yg_err_set(err, rc, "%s", msg);
}

static const yg_agent_transport yg_agent_libvirt = { yg_agent_libvirt_cmd, NULL };
static const yg_agent_transport *yg_transport = &yg_agent_libvirt;

void yg_agent_set_transport(const yg_agent_transport *t)
{
	yg_transport = t ? t : &yg_agent_libvirt;
}

/* ---- commands ---- */

static void yg_cmd_name(const char *json, char *name, size_t len)
{
	if (yg_json_get_string(json, "execute", name, len, NULL) < 0)
		snprintf(name, len, "%s", "?");
}

/* One command to dom (box is its name) through the transport, the reply
 * checked. *lost: the transport failed, and err holds only its cause. */
static int yg_agent_run(virDomainPtr dom, const char *box, const char *json, int timeout_s,
			char **reply, bool *lost, yg_err *err)
{
	char name[64], desc[160];
	size_t len = 0;
	char *r = NULL;
	int rc;

	*reply = NULL;
	*lost = false;
	rc = yg_transport->cmd(yg_transport->ctx, dom, json, timeout_s, &r, &len, err);
	if (rc < 0 || !r) {
		*lost = true;
		return rc < 0 ? rc : yg_err_set(err, -EIO, "no reply");
	}
	yg_cmd_name(json, name, sizeof(name));
	if (len > YG_AGENT_REPLY_MAX) {
		rc = yg_err_set(err, -EPROTO, "guest agent of box %s sent %zu bytes in reply to "
				"%s, more than the %u accepted (check the guest's qemu-guest-agent)",
				box, len, name, YG_AGENT_REPLY_MAX);
	} else if (memchr(r, '\0', len) || yg_json_validate(r, len) < 0 || r[0] != '{') {
		rc = yg_err_set(err, -EPROTO, "guest agent of box %s sent a malformed reply to %s "
				"(check the guest's qemu-guest-agent)", box, name);
	} else if (yg_json_has(r, "error")) {
		if (yg_json_get_string(r, "error.desc", desc, sizeof(desc), NULL) < 0)
			snprintf(desc, sizeof(desc), "%s", "unknown error");
		yg_make_printable(desc);
		rc = yg_err_set(err, -EIO, "guest agent command %s failed in box %s: %s",
				name, box, desc);
		yg_agent_wipe_mem(desc, sizeof(desc));
	} else {
		*reply = r;
		return 0;
	}
	yg_agent_wipe_mem(r, len);
	free(r);
	return rc;
}

int yg_agent_cmd(yg_box *box, const char *json, int timeout_s, char **reply,
		 yg_err *err)
{
	char name[64];
	bool lost;
	int rc;

	rc = yg_agent_run(yg_box_domain(box), yg_box_name(box), json, timeout_s, reply,
			  &lost, err);
	if (rc < 0 && lost) {
		yg_cmd_name(json, name, sizeof(name));
		if (rc == -ETIMEDOUT)
			yg_err_prefix(err, "guest agent of box %s did not run %s (%s)",
				      yg_box_name(box), name, YG_AGENT_FIX);
		else
			yg_err_prefix(err, "guest agent command %s failed in box %s",
				      name, yg_box_name(box));
	}
	return rc;
}

/* Run the command built in sb and read one integer member of the reply. */
static int yg_agent_cmd_int(yg_box *box, yg_sb *sb, int timeout_s, const char *path,
			    long long *out, yg_err *err)
{
	char *reply = NULL;
	int rc;

	if (sb->rc)
		return yg_err_set(err, sb->rc, "out of memory building a guest agent command for box %s",
				  yg_box_name(box));
	rc = yg_agent_cmd(box, sb->buf, timeout_s, &reply, err);
	if (rc < 0)
		return rc;
	if (path && (rc = yg_json_get_int(reply, path, out)) < 0)
		rc = yg_err_set(err, -EPROTO,
				"guest agent of box %s sent no valid '%s' in its reply",
				yg_box_name(box), path);
	yg_reply_free(reply);
	return rc;
}

static void yg_timeout_text(unsigned long ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%lu s", ms / 1000);
	else
		snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
}

int yg_agent_wait_domain(virDomainPtr dom, const char *name, unsigned long timeout_ms,
			 yg_err *err)
{
	static const char ping[] = "{\"execute\":\"guest-ping\"}";
	unsigned long long deadline = yg_now_ms() + timeout_ms;
	char last[256] = "no attempt";
	char tmo[32];
	bool lost;
	yg_err e;
	char *r;

	for (;;) {
		yg_err_clear(&e);
		if (yg_agent_run(dom, name, ping, 1, &r, &lost, &e) == 0) {
			yg_reply_free(r);
			return 0;
		}
		yg_copy_printable(last, sizeof(last), e.msg[0] ? e.msg : "unknown error");
		/* A guest that is gone will not answer: no point waiting out the bound. */
		if (virDomainIsActive(dom) == 0)
			return yg_err_set(err, -EIO,
					  "box %s stopped while waiting for its guest agent "
					  "(see /var/log/libvirt/qemu/%s.log)", name, name);
		if (yg_now_ms() >= deadline)
			break;
		yg_sleep_ms(25);
	}
	yg_timeout_text(timeout_ms, tmo, sizeof(tmo));
	return yg_err_set(err, -ETIMEDOUT,
			  "guest agent of box %s did not answer within %s (%s; last error: %s)",
			  name, tmo, YG_AGENT_FIX, last);
}

int yg_agent_wait(yg_box *box, unsigned long timeout_ms, yg_err *err)
{
	return yg_agent_wait_domain(yg_box_domain(box), yg_box_name(box), timeout_ms, err);
}

int yg_agent_spawn(yg_box *box, const char *const argv[], int timeout_s, long long *pid,
		   yg_err *err)
{
	yg_sb sb = { 0 };
	int rc, i;

	if (!argv || !argv[0])
		return yg_err_set(err, -EINVAL, "cannot run an empty command in box %s",
				  yg_box_name(box));
	yg_sb_add(&sb, "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":");
	yg_sb_quote(&sb, argv[0]);
	yg_sb_add(&sb, ",\"arg\":[");
	for (i = 1; argv[i]; i++) {
		yg_sb_add(&sb, "%s", i > 1 ? "," : "");
		yg_sb_quote(&sb, argv[i]);
	}
	yg_sb_add(&sb, "],\"capture-output\":false}}");
	rc = yg_agent_cmd_int(box, &sb, timeout_s, "return.pid", pid, err);
	yg_sb_free(&sb);
	if (rc < 0)
		yg_err_prefix(err, "cannot run %s", argv[0]);
	return rc;
}

/* One guest-exec-status: 0 with *exited, and *code when it did. */
static int yg_agent_exec_status(yg_box *box, const char *prog, long long pid, bool *exited,
				long long *code, yg_err *err)
{
	yg_sb sb = { 0 };
	char *reply = NULL;
	long long sig = 0;
	int rc;

	yg_sb_add(&sb, "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":%lld}}", pid);
	rc = sb.rc ? yg_err_set(err, sb.rc, "out of memory") :
		yg_agent_cmd(box, sb.buf, YG_AGENT_OP_TIMEOUT_S, &reply, err);
	yg_sb_free(&sb);
	if (rc < 0)
		return rc;
	*exited = false;
	rc = yg_json_get_bool(reply, "return.exited", exited);
	if (rc == 0 && *exited) {
		if (yg_json_get_int(reply, "return.signal", &sig) == 0 && sig > 0)
			*code = 128 + (sig & 127);
		else if (yg_json_get_int(reply, "return.exitcode", code) < 0)
			rc = -EPROTO;
	}
	yg_reply_free(reply);
	if (rc < 0)
		return yg_err_set(err, -EPROTO, "guest agent of box %s sent a malformed status for %s",
				  yg_box_name(box), prog);
	return 0;
}

int yg_agent_exec(yg_box *box, const char *const argv[],
		  unsigned long timeout_ms, int *exitcode, yg_err *err)
{
	unsigned long long deadline = yg_now_ms() + timeout_ms;
	unsigned long nap = 2;
	long long pid, code = 0;
	bool exited = false;
	char tmo[32];
	int rc;

	rc = yg_agent_spawn(box, argv, YG_AGENT_OP_TIMEOUT_S, &pid, err);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = yg_agent_exec_status(box, argv[0], pid, &exited, &code, err);
		if (rc < 0)
			return rc;
		if (exited)
			break;
		if (yg_now_ms() >= deadline) {
			yg_timeout_text(timeout_ms, tmo, sizeof(tmo));
			return yg_err_set(err, -ETIMEDOUT,
					  "%s did not finish within %s in box %s (guest pid %lld left running)",
					  argv[0], tmo, yg_box_name(box), pid);
		}
		yg_sleep_ms(nap);
		if (nap < 50)
			nap *= 2;
	}
	if (code < 0 || code > 255 + 128)	/* untrusted: a Linux status or 128+signal */
		return yg_err_set(err, -EPROTO, "guest agent of box %s reported exit code %lld for %s",
				  yg_box_name(box), code, argv[0]);
	if (exitcode)
		*exitcode = (int)code;
	return 0;
}

int yg_agent_sh(yg_box *box, const char *script, const char *const args[], int *status,
		yg_err *err)
{
	const char *argv[8] = { "/bin/sh", "-c", script, "yg" };
	int code = -1, rc, i;

	/* at most 3: argv[7] stays NULL */
	for (i = 0; args && args[i] && i < 3; i++)
		argv[4 + i] = args[i];
	rc = yg_agent_exec(box, argv, YG_AGENT_EXEC_TIMEOUT_MS, &code, err);
	if (rc < 0)
		return rc;
	if (status)
		*status = code;
	return 0;
}

int yg_agent_file_open(yg_box *box, const char *path, const char *mode, long long *handle,
		       yg_err *err)
{
	yg_sb sb = { 0 };
	int rc;

	yg_sb_add(&sb, "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":");
	yg_sb_quote(&sb, path);
	yg_sb_add(&sb, ",\"mode\":");
	yg_sb_quote(&sb, mode);
	yg_sb_add(&sb, "}}");
	rc = yg_agent_cmd_int(box, &sb, YG_AGENT_OP_TIMEOUT_S, "return", handle, err);
	yg_sb_free(&sb);
	return rc;
}

/* guest-file-{flush,close} on handle */
int yg_agent_file_op(yg_box *box, const char *op, long long handle, yg_err *err)
{
	yg_sb sb = { 0 };
	int rc;

	yg_sb_add(&sb, "{\"execute\":\"guest-file-%s\",\"arguments\":{\"handle\":%lld}}",
		  op, handle);
	rc = yg_agent_cmd_int(box, &sb, YG_AGENT_OP_TIMEOUT_S, NULL, NULL, err);
	yg_sb_free(&sb);
	return rc;
}

/* Write len bytes (a secret) at the current offset, in chunks. The
 * command that carries a chunk is built in locked memory, its base64
 * encoded into it directly; the guest's error is withheld (it saw the data
 * and could echo it), and the whole of err->msg is wiped before it gets
 * our sentence. */
int yg_agent_file_write(yg_box *box, long long handle, const unsigned char *data, size_t len,
			yg_err *err)
{
	yg_sb sb = { .secure = true };
	size_t off = 0, n;
	long long count;
	int rc = 0;

	while (off < len) {
		n = len - off < YG_AGENT_CHUNK ? len - off : YG_AGENT_CHUNK;
		yg_sb_reset(&sb);
		yg_sb_add(&sb, "{\"execute\":\"guest-file-write\",\"arguments\":"
			  "{\"handle\":%lld,\"buf-b64\":\"", handle);
		yg_sb_b64(&sb, data + off, n);
		yg_sb_add(&sb, "\"}}");
		if (sb.rc) {
			rc = yg_err_set(err, sb.rc, "out of locked memory writing a file in box %s",
					yg_box_name(box));
			break;
		}
		rc = yg_agent_cmd_int(box, &sb, YG_AGENT_OP_TIMEOUT_S, "return.count", &count, err);
		if (rc < 0) {
			if (err)
				yg_agent_wipe_mem(err->msg, sizeof(err->msg));
			yg_err_set(err, rc, "guest agent of box %s failed to write %zu bytes "
				   "(its message is withheld: it could quote the data)",
				   yg_box_name(box), n);
			break;
		}
		if (count <= 0 || (unsigned long long)count > n) {
			rc = yg_err_set(err, -EIO, "guest agent of box %s wrote %lld of %zu bytes",
					yg_box_name(box), count, n);
			break;
		}
		off += (size_t)count;
	}
	yg_sb_free(&sb);
	return rc;
}

int yg_agent_check_path(const char *path, yg_err *err)
{
	if (!path || path[0] != '/')
		return yg_err_set(err, -EINVAL, "guest path %s is not absolute (fix inject_path)",
				  path ? path : "(null)");
	return 0;
}

int yg_agent_put(yg_box *box, const char *path, const void *data, size_t len, yg_err *err)
{
	long long handle;
	int rc;

	rc = yg_agent_file_open(box, path, "w", &handle, err);
	if (rc < 0) {
		yg_err_prefix(err, "cannot open %s", path);
		return rc;
	}
	rc = yg_agent_file_write(box, handle, data, len, err);
	if (rc == 0)
		rc = yg_agent_file_op(box, "flush", handle, err);
	if (rc == 0)
		rc = yg_agent_file_op(box, "close", handle, err);
	else
		yg_agent_file_op(box, "close", handle, NULL);
	if (rc < 0)
		yg_err_prefix(err, "cannot write %s", path);
	return rc;
}

int yg_agent_write_file(yg_box *box, const char *path, const void *data,
			size_t len, yg_err *err)
{
	/* umask 077: a missing parent is created 0700 and the file 0600,
	 * empty, before any data byte exists; an old file is removed first so
	 * its mode cannot leak into ours. */
	static const char script[] =
		"umask 077 && d=\"${1%/*}\" && "
		"{ [ -z \"$d\" ] || [ -d \"$d\" ] || mkdir -p -- \"$d\"; } && "
		"rm -f -- \"$1\" && : > \"$1\" && chmod 600 -- \"$1\"";
	const char *args[] = { path, NULL };
	int status = -1, rc;

	rc = yg_agent_check_path(path, err);
	if (rc < 0)
		return rc;
	rc = yg_agent_sh(box, script, args, &status, err);
	if (rc == 0 && status != 0)
		rc = yg_err_set(err, -EIO, "cannot create %s mode 0600 in box %s (shell exit %d; "
				"is its directory writable?)", path, yg_box_name(box), status);
	if (rc < 0)
		return rc;
	return yg_agent_put(box, path, data, len, err);
}

/* One guest-file-read of at most want bytes into chunk; *got is its length. */
static int yg_agent_read_chunk(yg_box *box, long long handle, size_t want,
			       char *b64, unsigned char *chunk, size_t *got,
			       bool *eof, yg_err *err)
{
	size_t b64max = yg_b64_enc_len(YG_AGENT_CHUNK) + 1, blen = 0;
	char *reply = NULL;
	yg_sb sb = { 0 };
	int rc;

	yg_sb_add(&sb, "{\"execute\":\"guest-file-read\",\"arguments\":"
		  "{\"handle\":%lld,\"count\":%zu}}", handle, want);
	rc = sb.rc ? yg_err_set(err, -ENOMEM, "out of memory") :
		yg_agent_cmd(box, sb.buf, YG_AGENT_OP_TIMEOUT_S, &reply, err);
	yg_sb_free(&sb);
	if (rc < 0)
		return rc;
	/* chunk holds YG_AGENT_CHUNK bytes: any b64 of at most b64max - 1
	 * characters decodes into it; only then is the length checked */
	if (yg_json_get_bool(reply, "return.eof", eof) < 0 ||
	    yg_json_get_string(reply, "return.buf-b64", b64, b64max, &blen) < 0 ||
	    yg_b64_decode(b64, blen, chunk, got) < 0 || *got > want)
		rc = yg_err_set(err, -EPROTO, "guest agent of box %s sent a malformed "
				"guest-file-read reply", yg_box_name(box));
	yg_reply_free(reply);
	return rc;
}

int yg_agent_read_file(yg_box *box, const char *path, size_t max, char **out,
		       size_t *outlen, yg_err *err)
{
	size_t b64max = yg_b64_enc_len(YG_AGENT_CHUNK) + 1, n = 0, got = 0;
	char *b64 = yg_secure_alloc(b64max), *buf = max <= YG_AGENT_READ_MAX ? malloc(max + 1) : NULL;
	unsigned char *chunk = yg_secure_alloc(YG_AGENT_CHUNK);
	long long handle;
	bool eof = false;
	int rc;

	*out = NULL;
	if (max > YG_AGENT_READ_MAX) {
		rc = yg_err_set(err, -EINVAL, "refusing to read more than %u bytes", YG_AGENT_READ_MAX);
		goto out;
	}
	if (!b64 || !buf || !chunk) {
		rc = yg_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = yg_agent_file_open(box, path, "r", &handle, err);
	if (rc < 0)
		goto out;
	while (!eof && n < max) {
		size_t want = max - n < YG_AGENT_CHUNK ? max - n : YG_AGENT_CHUNK;

		rc = yg_agent_read_chunk(box, handle, want, b64, chunk, &got, &eof, err);
		if (rc < 0)
			break;
		memcpy(buf + n, chunk, got);
		n += got;
		if (got == 0)
			eof = true;
	}
	yg_agent_file_op(box, "close", handle, NULL);
	if (rc == 0) {
		buf[n] = '\0';
		*out = buf;
		buf = NULL;
		if (outlen)
			*outlen = n;
	}
out:
	if (rc < 0)
		yg_err_prefix(err, "cannot read %s", path);
	yg_agent_wipe_mem(buf, buf ? max + 1 : 0);
	yg_secure_free(b64, b64max);
	yg_secure_free(chunk, YG_AGENT_CHUNK);
	free(buf);
	return rc;
}

int yg_agent_seek(yg_box *box, long long handle, const char *whence, long long *pos,
		  yg_err *err)
{
	yg_sb sb = { 0 };
	int rc;

	yg_sb_add(&sb, "{\"execute\":\"guest-file-seek\",\"arguments\":"
		  "{\"handle\":%lld,\"offset\":0,\"whence\":", handle);
	yg_sb_quote(&sb, whence);
	yg_sb_add(&sb, "}}");
	rc = yg_agent_cmd_int(box, &sb, YG_AGENT_OP_TIMEOUT_S, "return.position", pos, err);
	yg_sb_free(&sb);
	return rc;
}
