/* SPDX-License-Identifier: MIT */
/* ctl_template.c: domain XML templates for provision.
 *
 * A template is a libvirt domain XML with placeholders @NAME@ where a value
 * goes.  Values are XML-escaped.  A placeholder the caller has no value for
 * (e.g. @KERNEL@ without --kernel) or does not know is an error that names
 * it; an '@' that does not start a placeholder ([A-Z_]+ between two '@') is
 * copied as is. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_template.h"
#include "yg_path.h"

#define TEMPLATE_MAX (256u * 1024u)

int yg_ctl_template_path(const char *name, char *buf, size_t len, yg_err *err)
{
	int n;

	if (strchr(name, '/'))
		n = yg_pathf(buf, len, "%s", name);
	else if (!name[0] || name[0] == '.' ||
		 strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-.") !=
		 strlen(name))
		return yg_err_set(err, -EINVAL, "template name '%s' is not "
				  "valid: give a file path or the name of a "
				  "file in %s without .xml", name,
				  YG_TEMPLATEDIR);
	else
		n = yg_pathf(buf, len, "%s/%s.xml", YG_TEMPLATEDIR, name);
	if (n < 0)
		return yg_err_set(err, -ENAMETOOLONG, "template path for '%s' "
				  "is too long", name);
	return 0;
}

static int read_all(const char *path, char **out, yg_err *err)
{
	size_t len = 0;
	char *buf = malloc(TEMPLATE_MAX + 1);
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	if (!buf)
		return yg_err_set(err, -ENOMEM, "out of memory reading %s",
				  path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = yg_err_set(err, -errno, "cannot read template %s: %s "
				"(templates: %s, or give a path)", path,
				strerror(errno), YG_TEMPLATEDIR);
		free(buf);
		return rc;
	}
	while ((n = read(fd, buf + len, TEMPLATE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		rc = yg_err_set(err, -errno, "cannot read template %s: %s",
				path, strerror(errno));
	else if (len > TEMPLATE_MAX)
		rc = yg_err_set(err, -EFBIG, "template %s is larger than "
				"%u bytes", path, TEMPLATE_MAX);
	else if (memchr(buf, '\0', len))
		rc = yg_err_set(err, -EINVAL, "template %s contains a NUL "
				"byte; it must be XML text", path);
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

struct sb {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add_xml(struct sb *b, const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case '&': sb_add(b, "&amp;", 5); break;
		case '<': sb_add(b, "&lt;", 4); break;
		case '>': sb_add(b, "&gt;", 4); break;
		case '\'': sb_add(b, "&apos;", 6); break;
		case '"': sb_add(b, "&quot;", 6); break;
		default: sb_add(b, v, 1); break;
		}
	}
}

static const struct yg_ctl_tvar *find_var(const struct yg_ctl_tvar *vars,
					  const char *name, size_t n)
{
	for (; vars->name; vars++)
		if (strlen(vars->name) == n && !memcmp(vars->name, name, n))
			return vars;
	return NULL;
}

int yg_ctl_template_render(const char *path, const struct yg_ctl_tvar *vars,
			   char **out, yg_err *err)
{
	struct sb b = { 0 };
	const struct yg_ctl_tvar *v;
	char *t, *p, *at, *end;
	size_t n;
	int rc;

	*out = NULL;
	rc = read_all(path, &t, err);
	if (rc < 0)
		return rc;
	for (p = t; (at = strchr(p, '@')); p = end + 1) {
		sb_add(&b, p, (size_t)(at - p));
		end = strchr(at + 1, '@');
		n = end ? strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") : 0;
		if (!end || n == 0 || at + 1 + n != end) {
			sb_add(&b, "@", 1);
			end = at;	/* not a placeholder: copy the '@' */
			continue;
		}
		v = find_var(vars, at + 1, n);
		if (!v) {
			rc = yg_err_set(err, -EINVAL, "template %s uses the "
					"unknown placeholder @%.*s@ (known: "
					"see yolo-gatectl(8))", path, (int)n,
					at + 1);
			break;
		}
		if (!v->value) {
			rc = yg_err_set(err, -EINVAL, "template %s needs @%s@: "
					"give %s", path, v->name, v->option);
			break;
		}
		sb_add_xml(&b, v->value);
	}
	if (rc == 0)
		sb_add(&b, p, strlen(p));
	free(t);
	if (rc == 0 && b.oom)
		rc = yg_err_set(err, -ENOMEM, "out of memory rendering %s",
				path);
	if (rc < 0) {
		free(b.s);
		return rc;
	}
	*out = b.s;
	return 0;
}
