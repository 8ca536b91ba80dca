/* SPDX-License-Identifier: MIT */
/* yg_xml.h: the little XML text handling libygvirt needs to build the
 * documents it hands libvirt (snapshot, pool and volume definitions) and to
 * read one value back from the documents libvirt returns.  Not a parser:
 * the documents read are libvirt's own, in its own formatting. */
#ifndef YG_XML_H
#define YG_XML_H

#include <stddef.h>
#include "yg_err.h"

/* s with &, <, >, ' and " escaped into buf; -ENAMETOOLONG when it does not
 * fit, -EINVAL for a control character (no XML 1.0 text may hold one). */
int yg_xml_escape(char *buf, size_t len, const char *s) YG_MUST_CHECK;

/* The value of attribute attr of the first element <elem ...> inside the
 * first <within>...</within> of xml (within NULL: anywhere), e.g.
 * yg_xml_attr(vol, "target", "format", "type", ...) -> "qcow2".  Copied
 * into buf; -ENOENT when absent, -ENAMETOOLONG when it does not fit. */
int yg_xml_attr(const char *xml, const char *within, const char *elem,
		const char *attr, char *buf, size_t len) YG_MUST_CHECK;

#endif
