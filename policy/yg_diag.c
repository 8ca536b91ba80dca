/* SPDX-License-Identifier: MIT */
/* yg_diag.c: diagnostics list (see yg_policy.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yg_policy.h"

int yg_diags_addf(yg_diags *d, const char *file, unsigned line,
		  const char *fmt, ...)
{
	va_list ap;
	yg_diag *slot;
	char *msg = NULL;
	int n;

	if (!d)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		yg_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	slot = &d->v[d->n];
	slot->file = NULL;
	if (file && !(slot->file = strdup(file))) {
		free(msg);
		return -ENOMEM;
	}
	slot->line = line;
	slot->msg = msg;
	d->n++;
	return 0;
}

void yg_diags_print(const yg_diags *d, FILE *f)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		const yg_diag *g = &d->v[i];

		if (g->file && g->line)
			fprintf(f, "%s:%u: %s\n", g->file, g->line, g->msg);
		else if (g->file)
			fprintf(f, "%s: %s\n", g->file, g->msg);
		else
			fprintf(f, "%s\n", g->msg);
	}
}

void yg_diags_free(yg_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}
