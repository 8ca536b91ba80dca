/* SPDX-License-Identifier: MIT */
/* ctl_image.h: yolo-gatectl image build|check (ctl_image.c,
 * ctl_image_check.c).  The guest contract an image meets is
 * guest/README.md. */
#ifndef YG_CTL_IMAGE_H
#define YG_CTL_IMAGE_H

#include <stdbool.h>

#include "yg_err.h"

/* Where image build puts OUT/NAME/ unless --out says otherwise. */
#define YG_CTL_IMAGE_DIR LOCALSTATEDIR "/lib/yolo-gate/images"
/* The kernel command line of a built image (root is the whole disk). */
#define YG_CTL_IMAGE_CMDLINE "root=/dev/vda rw console=ttyS0 quiet"

/* 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit. */
bool yg_ctl_image_name_ok(const char *name);

/* argv[0] is "check". */
int yg_ctl_image_check(int argc, char **argv) YG_MUST_CHECK;

#endif
