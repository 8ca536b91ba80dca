/* SPDX-License-Identifier: MIT */
/* yg_xml.c: see yg_xml.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "yg_xml.h"

int yg_xml_escape(char *buf, size_t len, const char *s)
{
	size_t n = 0, k;
	const char *rep;
	char one[2] = { 0, 0 };

	for (; *s; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '\'': rep = "&apos;"; break;
		case '"': rep = "&quot;"; break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				return -EINVAL;
			one[0] = *s;
			rep = one;
		}
		k = strlen(rep);
		if (n + k >= len)
			return -ENAMETOOLONG;
		memcpy(buf + n, rep, k);
		n += k;
	}
	if (n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/* The first "<name" in [p, end) that is a whole element name. */
static const char *find_elem(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	while (p && p < end && (p = strstr(p, "<")) && p < end) {
		if (!strncmp(p + 1, name, n) && strchr(" \t\n/>", p[1 + n]))
			return p;
		p++;
	}
	return NULL;
}

int yg_xml_attr(const char *xml, const char *within, const char *elem,
		const char *attr, char *buf, size_t len)
{
	const char *p = xml, *end = xml + strlen(xml), *gt, *v, *q;
	char close[64];
	size_t an = strlen(attr);

	if (within) {
		p = find_elem(xml, end, within);
		if (!p)
			return -ENOENT;
		snprintf(close, sizeof(close), "</%s>", within);
		q = strstr(p, close);
		end = q ? q : end;
	}
	p = find_elem(p, end, elem);
	if (!p)
		return -ENOENT;
	gt = strchr(p, '>');
	if (!gt || gt > end)
		return -ENOENT;
	for (v = p + 1 + strlen(elem); v < gt; v++) {
		if (!strchr(" \t\n", v[0]) || strncmp(v + 1, attr, an) ||
		    v[1 + an] != '=' || (v[2 + an] != '\'' && v[2 + an] != '"'))
			continue;
		v += 2 + an;
		q = strchr(v + 1, *v);
		if (!q || q > gt)
			return -ENOENT;
		if ((size_t)(q - v - 1) >= len)
			return -ENAMETOOLONG;
		memcpy(buf, v + 1, (size_t)(q - v - 1));
		buf[q - v - 1] = '\0';
		return 0;
	}
	return -ENOENT;
}
