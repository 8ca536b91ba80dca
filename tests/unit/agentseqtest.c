/* SPDX-License-Identifier: MIT */
/* agentseqtest: the guest agent's command sequences against scripted agents
 * (the idea of libvirt's tests/qemuagenttest.c and its data directory).
 *
 * Each tests/data/agent/<case>.txt is a script:
 *
 *   # comment                    blank lines and comments are kept as they are
 *   op write_file PATH NBYTES    what to run (see run_op below for all ops;
 *                                inject PATH NBYTES OWNER is write_file's
 *                                data through yg_agent_inject)
 *   > {"execute":...}            a command the code must send, exactly
 *   >* {"execute":...}           the same, sent one or more times in a row
 *   < {"return":...}             the reply to it: text as the guest sends it
 *   <! timeout                   the transport times out (-ETIMEDOUT)
 *   <! error MESSAGE             the transport fails (-EIO) with MESSAGE
 *   <! huge N                    a well-formed reply of N bytes
 *   <! nul TEXT                  TEXT with its first '@' made a NUL byte
 *   <! empty                     a reply of no bytes
 *   <! delay MS TEXT             TEXT after MS milliseconds
 *   = rc EIO                     the result: 0 or an errno name
 *   = err MESSAGE                err->msg, exactly
 *   = out TEXT                   what the op produced (a reply, a tty, an exit
 *                                code, file contents with \n for newlines)
 *
 * In a command, "@data:OFF:LEN" stands for the base64 of bytes OFF..OFF+LEN
 * of the op's data (write_file: a secret-looking pattern) and "@zero:LEN"
 * for LEN zero bytes. The test fails on any extra, missing or different
 * command, on a different result, and, for write_file, when err->msg holds
 * any piece of the data or its base64. YG_REGEN_GOLDEN=1 rewrites the
 * commands and results of the scripts from what the code did instead (the
 * replies stay: they are the scripts' input).
 *
 * The box is libvirt's test driver domain of tests/data/box/node.xml; the
 * agent transport is replaced by the script (yg_agent_set_transport). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_agent.h"
#include "yg_box.h"
#include "yg_time.h"

#define DOM "yolo-test"
#define SNAP "clean-state"
#define MAXSTEPS 64
#define MAXLINES 256
#define PATTERN "YG_SEQ_KEY=sk-seq-0123456789abcdef\n"

enum kind { R_TEXT, R_TIMEOUT, R_ERROR, R_HUGE, R_NUL, R_DELAY };

struct step {
	int cmd_line;			/* index of its '>' line */
	char *want;			/* the command, placeholders expanded */
	bool repeat;
	enum kind kind;
	char *text;
	size_t n;
	unsigned uses;
	char *got;			/* the first command sent for it */
};

struct script {
	char path[4096];
	char *lines[MAXLINES];
	size_t nlines;
	int op_line, rc_line, err_line, out_line;
	struct step steps[MAXSTEPS];
	size_t nsteps, cur;
	unsigned sent;
	char fail[2048];		/* first sequence error */
	unsigned char *data;		/* write_file's data */
	size_t datalen;
	bool regen;
};

static char uri[4096];

static bool regen(void)
{
	const char *r = getenv("YG_REGEN_GOLDEN");

	return r && r[0] == '1';
}

/* ---- reading a script ---- */

static char *b64_of(const unsigned char *p, size_t n)
{
	char *out = malloc(yg_b64_enc_len(n) + 1);

	assert_non_null(out);
	yg_b64_encode(p, n, out);
	return out;
}

/* want with @data:OFF:LEN and @zero:LEN replaced by their base64. */
static char *expand(struct script *sc, const char *want, int line)
{
	size_t cap = strlen(want) + 1, len = 0;
	char *out = malloc(cap), *b;
	const char *p = want;

	assert_non_null(out);
	while (*p) {
		unsigned long off = 0, n = 0;
		unsigned char *zero = NULL;
		int used = 0;

		if (sscanf(p, "@data:%lu:%lu%n", &off, &n, &used) == 2 && used > 0) {
			if (off + n > sc->datalen)
				fail_msg("%s:%d: @data:%lu:%lu is beyond the %zu bytes of data",
					 sc->path, line, off, n, sc->datalen);
			b = b64_of(sc->data + off, n);
		} else if (sscanf(p, "@zero:%lu%n", &n, &used) == 1 && used > 0) {
			zero = calloc(1, n + 1);
			assert_non_null(zero);
			b = b64_of(zero, n);
			free(zero);
		} else {
			b = NULL;
		}
		if (b) {
			char *bigger = realloc(out, cap + strlen(b));

			assert_non_null(bigger);
			out = bigger;
			cap += strlen(b);
			memcpy(out + len, b, strlen(b));
			len += strlen(b);
			free(b);
			p += used;
		} else {
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}

static void parse_reply(struct script *sc, struct step *st, const char *r, int line)
{
	char kw[16];
	int used = 0;
	unsigned long n = 0;

	if (r[0] == ' ') {
		st->kind = R_TEXT;
		st->text = strdup(r + 1);
		return;
	}
	if (r[0] != '!' || sscanf(r + 1, " %15s%n", kw, &used) != 1)
		fail_msg("%s:%d: a reply is '< TEXT' or '<! KIND ...'", sc->path, line + 1);
	r += 1 + used;
	r += strspn(r, " ");
	if (!strcmp(kw, "timeout")) {
		st->kind = R_TIMEOUT;
	} else if (!strcmp(kw, "empty")) {
		st->text = strdup("");
	} else if (!strcmp(kw, "error")) {
		st->kind = R_ERROR;
		st->text = strdup(r);
	} else if (!strcmp(kw, "nul")) {
		st->kind = R_NUL;
		st->text = strdup(r);
	} else if ((!strcmp(kw, "huge") || !strcmp(kw, "delay")) &&
		   sscanf(r, "%lu %n", &n, &used) == 1) {
		st->kind = !strcmp(kw, "huge") ? R_HUGE : R_DELAY;
		st->n = n;
		st->text = strdup(r + used);
	} else {
		fail_msg("%s:%d: unknown reply kind '%s'", sc->path, line + 1, kw);
	}
}

static void load(struct script *sc, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	memset(sc, 0, sizeof(*sc));
	sc->op_line = sc->rc_line = sc->err_line = sc->out_line = -1;
	sc->regen = regen();
	snprintf(sc->path, sizeof(sc->path), "%s/%s.txt", YG_AGENT_TESTDATA, name);
	f = fopen(sc->path, "r");
	if (!f)
		fail_msg("cannot open %s", sc->path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		assert_true(sc->nlines < MAXLINES);
		sc->lines[sc->nlines++] = strdup(line);
	}
	free(line);
	fclose(f);
}

/* After the op line set up the data: the steps, expanded. */
static void parse_steps(struct script *sc)
{
	struct step *st = NULL;
	size_t i;

	for (i = 0; i < sc->nlines; i++) {
		const char *l = sc->lines[i];

		if (l[0] == '>') {
			assert_true(sc->nsteps < MAXSTEPS);
			st = &sc->steps[sc->nsteps++];
			st->cmd_line = (int)i;
			st->repeat = l[1] == '*';
			l += st->repeat ? 2 : 1;
			if (l[0] != ' ')
				fail_msg("%s:%zu: a command is '> JSON'", sc->path, i + 1);
			st->want = expand(sc, l + 1, (int)i + 1);
		} else if (l[0] == '<') {
			if (!st)
				fail_msg("%s:%zu: a reply without its command", sc->path, i + 1);
			parse_reply(sc, st, l + 1, (int)i);
			if (!st->text)
				st->text = strdup("");
			st = NULL;
		} else if (!strncmp(l, "= rc ", 5)) {
			sc->rc_line = (int)i;
		} else if (!strncmp(l, "= err ", 6)) {
			sc->err_line = (int)i;
		} else if (!strncmp(l, "= out ", 6)) {
			sc->out_line = (int)i;
		} else if (!strncmp(l, "op ", 3)) {
			sc->op_line = (int)i;
		} else if (l[0] && l[0] != '#') {
			fail_msg("%s:%zu: cannot read '%s'", sc->path, i + 1, l);
		}
	}
	if (st)
		fail_msg("%s: the last command has no reply", sc->path);
	if (sc->op_line < 0 || sc->rc_line < 0)
		fail_msg("%s: needs an 'op' and an '= rc' line", sc->path);
}

/* ---- the scripted transport ---- */

static void note(struct script *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct script *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(sc->fail, sizeof(sc->fail), fmt, ap);
	va_end(ap);
}

static int scripted(void *ctx, virDomainPtr dom, const char *json, int timeout_s,
		    char **reply, size_t *replylen, yg_err *err)
{
	struct script *sc = ctx;
	struct step *st;
	char *r;

	(void)dom;
	assert_true(timeout_s > 0);
	sc->sent++;
	st = sc->cur < sc->nsteps ? &sc->steps[sc->cur] : NULL;
	/* a repeated command is done when another comes (regen: another than
	 * the first one sent) */
	if (st && st->repeat && st->uses &&
	    strcmp(json, sc->regen && st->got ? st->got : st->want))
		sc->cur++;
	if (sc->cur >= sc->nsteps) {
		note(sc, "command %u is one more than the script has: %.600s", sc->sent, json);
		return yg_err_set(err, -EIO, "scripted agent: the script ended");
	}
	st = &sc->steps[sc->cur];
	if (!st->got)
		st->got = strdup(json);
	if (strcmp(json, st->want)) {
		size_t at = 0;

		while (json[at] && json[at] == st->want[at])
			at++;
		note(sc, "command %u differs from %s:%d at byte %zu\n  want: %.600s\n  got:  %.600s",
		     sc->sent, sc->path, st->cmd_line + 1, at, st->want, json);
		if (!sc->regen)
			return yg_err_set(err, -EIO, "scripted agent: unexpected command");
	}
	st->uses++;
	if (!st->repeat)
		sc->cur++;
	switch (st->kind) {
	case R_TIMEOUT:
		return yg_err_set(err, -ETIMEDOUT, "Guest agent is not responding: scripted timeout");
	case R_ERROR:
		return yg_err_set(err, -EIO, "%s", st->text);
	case R_HUGE:
		r = malloc(st->n + 1);
		assert_non_null(r);
		assert_true(st->n >= 14);
		memset(r, 'x', st->n);
		memcpy(r, "{\"return\":\"", 11);
		memcpy(r + st->n - 2, "\"}", 3);
		*replylen = st->n;
		break;
	case R_DELAY:
		yg_sleep_ms(st->n);
		/* fall through */
	default:
		r = strdup(st->text);
		assert_non_null(r);
		*replylen = strlen(r);
		if (st->kind == R_NUL && strchr(r, '@'))
			*strchr(r, '@') = '\0';
	}
	*reply = r;
	return 0;
}

/* ---- running a case ---- */

typedef struct fx {
	virConnectPtr conn;
	yg_box *box;
	const char *name;
} fx;

static int setup(void **state)
{
	static fx f;
	char xml[128];
	virDomainSnapshotPtr s;
	virDomainPtr dom;
	yg_err err;

	memset(&f, 0, sizeof(f));
	f.name = *state;
	if (yg_conn_open(uri, &f.conn, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	dom = virDomainLookupByName(f.conn, DOM);
	snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", SNAP);
	s = dom ? virDomainSnapshotCreateXML(dom, xml, 0) : NULL;
	if (s)
		virDomainSnapshotFree(s);
	if (dom)
		virDomainFree(dom);
	if (!s || yg_box_open(f.conn, DOM, SNAP, NULL, &f.box, &err) < 0) {
		fprintf(stderr, "cannot set up box %s with snapshot %s\n", DOM, SNAP);
		return -1;
	}
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	yg_agent_set_transport(NULL);
	yg_box_free(f->box);
	if (f->conn)
		virConnectClose(f->conn);
	return 0;
}

static const struct { const char *name; int code; } errnames[] = {
	{ "0", 0 }, { "EIO", -EIO }, { "EPROTO", -EPROTO }, { "ETIMEDOUT", -ETIMEDOUT },
	{ "EINVAL", -EINVAL }, { "ENOENT", -ENOENT }, { "ERANGE", -ERANGE },
	{ "ENOMEM", -ENOMEM }, { "EOPNOTSUPP", -EOPNOTSUPP }, { "ELOOP", -ELOOP },
	{ "EXDEV", -EXDEV }, { "EPERM", -EPERM },
};

static const char *errname(int code)
{
	static char other[16];
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].code == code)
			return errnames[i].name;
	snprintf(other, sizeof(other), "%d", code);
	return other;
}

/* s with newlines as \n, into a malloc'd string */
static char *escaped(const char *s, size_t len)
{
	char *out = malloc(2 * len + 1), *o = out;
	size_t i;

	assert_non_null(out);
	for (i = 0; i < len; i++) {
		if (s[i] == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Split the op line into words (cmd keeps the rest of the line whole). */
static size_t words(char *l, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(l, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) {
		w[n++] = t;
		if (n == 2 && !strcmp(w[1], "cmd")) {
			w[n++] = save;
			break;
		}
	}
	return n;
}

static void need(const struct script *sc, size_t have, size_t want)
{
	if (have < want)
		fail_msg("%s:%d: the op needs %zu words", sc->path, sc->op_line + 1, want);
}

/* Run the op of the script; *out (malloc'd or NULL) is what it produced. */
static int run_op(struct script *sc, yg_box *box, yg_err *err, char **out)
{
	char *l = strdup(sc->lines[sc->op_line]), *w[24], *r = NULL, tty[YG_AGENT_TTY_MAX];
	size_t n = words(l, w, sizeof(w) / sizeof(w[0]) - 1), len = 0;
	int rc = -1, code = -1;

	w[n] = NULL;		/* exec's argv ends here */
	need(sc, n, 2);
	*out = NULL;
	if (!strcmp(w[1], "write_file")) {
		need(sc, n, 4);
		rc = yg_agent_write_file(box, w[2], sc->data, sc->datalen, err);
	} else if (!strcmp(w[1], "inject")) {
		/* op inject PATH NBYTES OWNER ("-": none given) */
		need(sc, n, 5);
		rc = yg_agent_inject(box, w[2], strcmp(w[4], "-") ? w[4] : NULL, sc->data,
				     sc->datalen, err);
	} else if (!strcmp(w[1], "wipe_file")) {
		need(sc, n, 3);
		rc = yg_agent_wipe_file(box, w[2], err);
	} else if (!strcmp(w[1], "read_file")) {
		need(sc, n, 4);
		rc = yg_agent_read_file(box, w[2], strtoul(w[3], NULL, 10), &r, &len, err);
		if (rc == 0)
			*out = escaped(r, len);
	} else if (!strcmp(w[1], "exec")) {
		need(sc, n, 4);
		rc = yg_agent_exec(box, (const char *const *)&w[3], strtoul(w[2], NULL, 10),
				   &code, err);
		if (rc == 0 && asprintf(out, "%d", code) < 0)
			*out = NULL;
	} else if (!strcmp(w[1], "wait")) {
		need(sc, n, 3);
		rc = yg_agent_wait(box, strtoul(w[2], NULL, 10), err);
	} else if (!strcmp(w[1], "cmd")) {
		need(sc, n, 3);
		rc = yg_agent_cmd(box, w[2], 1, &r, err);
		if (rc == 0)
			*out = strdup(r);
	} else if (!strcmp(w[1], "winsize")) {
		need(sc, n, 5);
		rc = yg_agent_set_winsize(box, w[2], (uint16_t)strtoul(w[3], NULL, 10),
					  (uint16_t)strtoul(w[4], NULL, 10), err);
	} else if (!strcmp(w[1], "wake")) {
		need(sc, n, 3);
		rc = yg_agent_console_wake(box, w[2], err);
	} else if (!strcmp(w[1], "console")) {
		/* the policy's console device -> its tty -> the wake */
		rc = yg_agent_console_tty(n > 2 ? w[2] : "", tty, sizeof(tty), err);
		if (rc == 0)
			rc = yg_agent_console_wake(box, tty, err);
		if (rc == 0)
			*out = strdup(tty);
	} else {
		fail_msg("%s:%d: unknown op %s", sc->path, sc->op_line + 1, w[1]);
	}
	free(r);
	free(l);
	return rc;
}

/* The data is secret: no 8 bytes of it, and no 12 characters of its
 * base64 (every chunk's is a piece of the whole's, chunks being multiples
 * of 3 bytes), may be in a message. The pattern repeats: its first periods
 * hold every window. */
static void assert_no_secret(const struct script *sc, const char *msg)
{
	size_t plen = sizeof(PATTERN) - 1, n = sc->datalen < 6 * plen ? sc->datalen : 6 * plen;
	size_t mlen = strlen(msg), i;
	char *b64;

	if (!n)
		return;
	b64 = b64_of(sc->data, n);
	for (i = 0; i + 8 <= mlen; i++)
		if (memmem(sc->data, n, msg + i, 8))
			fail_msg("%s: the message holds key bytes: %s", sc->path, msg);
	for (i = 0; i + 12 <= mlen; i++)
		if (memmem(b64, strlen(b64), msg + i, 12))
			fail_msg("%s: the message holds base64 of key bytes: %s", sc->path, msg);
	assert_null(strstr(msg, "sk-seq"));
	free(b64);
}

static void assert_printable(const struct script *sc, const char *msg)
{
	for (; *msg; msg++)
		if ((unsigned char)*msg < 0x20 || (unsigned char)*msg > 0x7e)
			fail_msg("%s: the message holds byte 0x%02x", sc->path, (unsigned char)*msg);
}

/* "@data:OFF:LEN" / "@zero:LEN" back in the command sent for st, for
 * regen; *cursor is where the data written so far ends. */
static char *unexpand(struct script *sc, const struct step *st, size_t *cursor)
{
	const char *got = st->got;
	long long count;
	static const char key[] = "\"buf-b64\":\"";
	const char *b = strstr(got, key), *e;
	unsigned char *dec;
	size_t blen, dlen = 0, i;
	char *out = NULL, ph[64];

	if (!b || !(e = strchr(b + strlen(key), '"')))
		return strdup(got);
	b += strlen(key);
	blen = (size_t)(e - b);
	dec = malloc(blen / 4 * 3 + 3);
	assert_non_null(dec);
	if (yg_b64_decode(b, blen, dec, &dlen) < 0) {
		free(dec);
		return strdup(got);
	}
	for (i = 0; i < dlen && !dec[i]; i++)
		;
	ph[0] = '\0';
	if (sc->data && *cursor + dlen <= sc->datalen && !memcmp(sc->data + *cursor, dec, dlen)) {
		snprintf(ph, sizeof(ph), "@data:%zu:%zu", *cursor, dlen);
		/* the next chunk starts where the guest says this one ended */
		if (st->kind == R_TEXT && yg_json_get_int(st->text, "return.count", &count) == 0 &&
		    count >= 0 && (size_t)count <= dlen)
			dlen = (size_t)count;
		*cursor += dlen;
	} else if (i == dlen) {
		snprintf(ph, sizeof(ph), "@zero:%zu", dlen);
	}
	free(dec);
	if (!ph[0])
		return strdup(got);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(b - got), got, ph, e) > 0);
	return out;
}

static void set_line(struct script *sc, int *idx, char *text)
{
	if (*idx < 0) {
		assert_true(sc->nlines < MAXLINES);
		*idx = (int)sc->nlines++;
	} else {
		free(sc->lines[*idx]);
	}
	sc->lines[*idx] = text;
}

static void write_back(struct script *sc, int rc, const yg_err *err, const char *out)
{
	size_t cursor = 0, i;
	char *t;
	FILE *f;

	for (i = 0; i < sc->nsteps; i++) {
		struct step *st = &sc->steps[i];

		if (!st->got)
			continue;
		t = unexpand(sc, st, &cursor);
		free(sc->lines[st->cmd_line]);
		assert_true(asprintf(&sc->lines[st->cmd_line], ">%s %s", st->repeat ? "*" : "", t) > 0);
		free(t);
	}
	assert_true(asprintf(&t, "= rc %s", errname(rc)) > 0);
	set_line(sc, &sc->rc_line, t);
	if (rc < 0) {
		assert_true(asprintf(&t, "= err %s", err->msg) > 0);
		set_line(sc, &sc->err_line, t);
	}
	if (out) {
		assert_true(asprintf(&t, "= out %s", out) > 0);
		set_line(sc, &sc->out_line, t);
	}
	f = fopen(sc->path, "w");
	assert_non_null(f);
	for (i = 0; i < sc->nlines; i++)
		fprintf(f, "%s\n", sc->lines[i]);
	assert_int_equal(fclose(f), 0);
}

static void free_script(struct script *sc)
{
	size_t i;

	for (i = 0; i < sc->nsteps; i++) {
		free(sc->steps[i].want);
		free(sc->steps[i].text);
		free(sc->steps[i].got);
	}
	for (i = 0; i < sc->nlines; i++)
		free(sc->lines[i]);
	free(sc->data);
}

static void run_case(void **state)
{
	fx *f = *state;
	static struct script sc;
	yg_agent_transport t = { scripted, &sc };
	const struct step *last;
	yg_err err = { 0 };
	char *out = NULL;
	unsigned long nbytes = 0;
	char op[32] = "";
	int rc;

	load(&sc, f->name);
	for (size_t i = 0; i < sc.nlines; i++)
		if (sscanf(sc.lines[i], "op %31s %*s %lu", op, &nbytes) >= 1)
			break;
	if (!strcmp(op, "write_file") || !strcmp(op, "inject")) {
		sc.datalen = nbytes;
		sc.data = calloc(1, nbytes + 1);
		assert_non_null(sc.data);
		for (size_t i = 0; i < nbytes; i++)
			sc.data[i] = (unsigned char)PATTERN[i % (sizeof(PATTERN) - 1)];
	}
	parse_steps(&sc);
	yg_agent_set_transport(&t);
	rc = run_op(&sc, f->box, &err, &out);
	yg_agent_set_transport(NULL);
	/* first, and in regen too: a leak is never blessed into a golden */
	assert_printable(&sc, err.msg);
	if (sc.data)
		assert_no_secret(&sc, err.msg);
	if (sc.regen) {
		write_back(&sc, rc, &err, out);
		free(out);
		free_script(&sc);
		return;
	}
	if (sc.fail[0])
		fail_msg("%s", sc.fail);
	last = sc.cur < sc.nsteps ? &sc.steps[sc.cur] : NULL;
	if (last && !(sc.cur == sc.nsteps - 1 && last->repeat && last->uses))
		fail_msg("%s:%d: this command was never sent (%u sent in all)", sc.path,
			 last->cmd_line + 1, sc.sent);
	if (strcmp(errname(rc), sc.lines[sc.rc_line] + 5))
		fail_msg("%s:%d: rc %s, want %s (err: %s)", sc.path, sc.rc_line + 1, errname(rc),
			 sc.lines[sc.rc_line] + 5, err.msg);
	if (rc < 0 && sc.err_line < 0)
		fail_msg("%s: no '= err' line; the message was: %s", sc.path, err.msg);
	if (rc < 0)
		assert_string_equal(err.msg, sc.lines[sc.err_line] + 6);
	if (sc.out_line >= 0) {
		if (!out)
			fail_msg("%s: the op produced nothing, want '%s'", sc.path,
				 sc.lines[sc.out_line] + 6);
		assert_string_equal(out, sc.lines[sc.out_line] + 6);
	}
	free(out);
	free_script(&sc);
}

/* the scripts of tests/data/agent, each a test */
#define YG_AGENT_CASES(X) \
	X("agent_lost") \
	X("agent_timeout") \
	X("console_hvc") \
	X("console_serial1") \
	X("console_unknown") \
	X("delay_ok") \
	X("exec_bad_code") \
	X("exec_exit7") \
	X("exec_signal") \
	X("exec_timeout") \
	X("garbage_count_too_big") \
	X("garbage_empty") \
	X("garbage_error_no_desc") \
	X("garbage_error_object") \
	X("garbage_huge") \
	X("garbage_invalid_json") \
	X("garbage_not_object") \
	X("garbage_nul") \
	X("garbage_status_type") \
	X("garbage_trailing") \
	X("garbage_truncated") \
	X("garbage_wrong_type") \
	X("inject_bad_owner") \
	X("inject_dotdot") \
	X("inject_mount_fails") \
	X("inject_not_tmpfs") \
	X("inject_ok") \
	X("inject_owner_unknown") \
	X("inject_root") \
	X("inject_shared_dir") \
	X("inject_symlink") \
	X("read_bad_b64") \
	X("read_ok") \
	X("wait_garbage") \
	X("wait_ok") \
	X("wait_timeout") \
	X("wake_bad_tty") \
	X("wake_ok") \
	X("winsize_bad_tty") \
	X("winsize_ok") \
	X("winsize_stty_fails") \
	X("winsize_zero") \
	X("wipe_missing") \
	X("wipe_ok") \
	X("wipe_open_fail") \
	X("write_chunks") \
	X("write_close_fail") \
	X("write_create_fail") \
	X("write_empty") \
	X("write_ok") \
	X("write_open_fail") \
	X("write_partial") \
	X("write_relative") \
	X("write_short_count") \
	X("write_write_fail") \
	X("write_write_lost")

/* Every script in the data directory is a case below, and back. */
static const char *const cases[] = {
#define CASE_NAME(name) name,
	YG_AGENT_CASES(CASE_NAME)
};

static void test_cases_listed(void **state)
{
	size_t i, n = 0;
	struct dirent *de;
	DIR *d = opendir(YG_AGENT_TESTDATA);

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".txt"))
			continue;
		n++;
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (strlen(cases[i]) == len - 4 && !strncmp(cases[i], de->d_name, len - 4))
				break;
		if (i == sizeof(cases) / sizeof(cases[0]))
			fail_msg("%s/%s is not run: add it to YG_AGENT_CASES", YG_AGENT_TESTDATA,
				 de->d_name);
	}
	closedir(d);
	assert_int_equal(n, sizeof(cases) / sizeof(cases[0]));
}

#define CASE(n) { .name = n, .test_func = run_case, .setup_func = setup, \
		  .teardown_func = teardown, .initial_state = (void *)n },

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_listed),
		YG_AGENT_CASES(CASE)
	};

	snprintf(uri, sizeof(uri), "test://%s/node.xml", YG_BOX_TESTDATA);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
