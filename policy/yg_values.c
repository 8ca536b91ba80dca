/* SPDX-License-Identifier: MIT */
/* yg_values.c: value parsers and checks shared by the policy engine, the
 * PAM module (durations) and yolo-gatectl. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yg_policy_int.h"

const char yg_posix_name_rule[] =
	"1-32 characters from [a-z0-9_-], starting with a letter or '_', "
	"optionally ending in '$' (upper case is accepted too, as Linux "
	"allows it)";
const char yg_domain_name_rule[] =
	"1-64 characters from [A-Za-z0-9_.+-], not starting with '.' or '-'";

int yg_parse_duration(const char *s, unsigned long *ms)
{
	unsigned long n = 0, mult = 1000;
	const char *p = s;

	if (!s || !ms || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (ULONG_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		mult = 60UL * 1000;
		p++;
		break;
	case 'h':
		mult = 3600UL * 1000;
		p++;
		break;
	default:
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (n > ULONG_MAX / mult)
		return -ERANGE;
	*ms = n * mult;
	return 0;
}

int yg_parse_size(const char *s, unsigned long long *bytes)
{
	static const char units[] = "KMGT";
	unsigned long long n = 0;
	const char *p = s, *u;
	unsigned shift = 0;

	if (!s || !bytes || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (ULLONG_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	if (*p) {
		u = strchr(units, *p);
		if (!u || p[1])
			return -EINVAL;
		shift = 10u * (unsigned)(u - units + 1);
	}
	if (n > (ULLONG_MAX >> shift))
		return -ERANGE;
	*bytes = n << shift;
	return 0;
}

int yg_parse_escape(const char *s, int *byte)
{
	if (!s || !byte)
		return -EINVAL;
	if (!strcmp(s, "none")) {
		*byte = -1;
		return 0;
	}
	if (s[0] != '^' || !s[1] || s[2])
		return -EINVAL;
	if (s[1] == '?') {
		*byte = 0x7f;
		return 0;
	}
	if (s[1] >= 'a' && s[1] <= 'z') {
		*byte = s[1] - 'a' + 1;
		return 0;
	}
	if (s[1] >= '@' && s[1] <= '_') {
		*byte = s[1] - '@';
		return 0;
	}
	return -EINVAL;
}

bool yg_valid_domain_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '+' || c == '-'))
			return false;
	}
	return true;
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool yg_valid_posix_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 32 || !name_start(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (c == '$' && i == n - 1)
			break;
		if (!name_start(c) && !(c >= '0' && c <= '9') && c != '-')
			return false;
	}
	return true;
}

int yg_expand(const char *tmpl, const char *user, const char *uid,
	      const char *group, char **out, char *why, size_t whylen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc = 0;

	*out = NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (const char *p = tmpl; *p && !rc; p++) {
		if (*p != '%') {
			fputc(*p, f);
			continue;
		}
		switch (*++p) {
		case '%':
			fputc('%', f);
			break;
		case 'u':
			fputs(user ? user : "u", f);
			break;
		case 'U':
			fputs(uid ? uid : "0", f);
			break;
		case 'g':
			if (user && !group) {
				snprintf(why, whylen, "'%%g' is used but user "
					 "%s has no primary group", user);
				rc = -EINVAL;
			}
			fputs(group ? group : "g", f);
			break;
		case '\0':
			snprintf(why, whylen, "a lone '%%' ends the value "
				 "(write '%%%%' for a literal '%%')");
			rc = -EINVAL;
			p--;
			break;
		default:
			snprintf(why, whylen, "unknown expansion '%%%c' (valid: "
				 "%%u user name, %%U uid, %%g primary group, "
				 "%%%% a literal '%%')", *p);
			rc = -EINVAL;
			break;
		}
	}
	if (fclose(f) != 0 && !rc)
		rc = -ENOMEM;
	if (rc)
		free(buf);
	else
		*out = buf;
	return rc;
}

unsigned yg_edit_distance(const char *a, const char *b)
{
	unsigned row[65], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la > 64 || lb > 64)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0], best;

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j];

			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}
