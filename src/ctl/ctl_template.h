/* SPDX-License-Identifier: MIT */
/* ctl_template.h: domain XML templates (src/ctl/templates, installed to
 * $(pkgdatadir)/templates). */
#ifndef YG_CTL_TEMPLATE_H
#define YG_CTL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "yg_err.h"

#ifndef YG_TEMPLATEDIR
#define YG_TEMPLATEDIR "/usr/share/yolo-gate/templates"
#endif

/* One placeholder: @name@ becomes value (XML-escaped).  value NULL means
 * "not given": a template that uses it fails with "give <option>". */
struct yg_ctl_tvar {
	const char *name;
	const char *value;
	const char *option;
};

/* A name with a '/' is a path; any other name is YG_TEMPLATEDIR/NAME.xml. */
int yg_ctl_template_path(const char *name, char *buf, size_t len,
			 yg_err *err) YG_MUST_CHECK;

/* Read the template at path and fill its placeholders from vars (ended by
 * a { NULL } entry).  *out is malloc'd.  0 or -errno with err. */
int yg_ctl_template_render(const char *path, const struct yg_ctl_tvar *vars,
			   char **out, yg_err *err) YG_MUST_CHECK;

#endif
