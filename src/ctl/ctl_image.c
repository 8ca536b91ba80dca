/* SPDX-License-Identifier: MIT */
/* ctl_image.c: yolo-gatectl image build|check.
 *
 * build runs the image builder shipped in the package's data directory
 * (guest/build-image.sh, installed to $(pkgdatadir)/guest), which makes
 * OUT/NAME/{NAME.qcow2,vmlinuz,initrd.img,manifest} with mmdebstrap from
 * the host's apt sources; it is exec'd, so its progress lines and exit
 * status are ours. YG_GUEST_DIR names another directory that holds it
 * (a source tree: the tests run the built yolo-gatectl before install).
 * check lives in ctl_image_check.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_image.h"

#define CMD "image build"

#ifndef YG_GUESTDIR
#define YG_GUESTDIR "/usr/share/yolo-gate/guest"
#endif

bool yg_ctl_image_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 64 &&
		strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
		name[0] != '.' && name[0] != '_' && name[0] != '-';
}

static int image_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "suite", required_argument, NULL, 's' },
		{ "packages", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "update", no_argument, NULL, 'u' },
		{ "inputs-hash", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *suite = NULL, *packages = NULL, *size = NULL;
	const char *out = YG_CTL_IMAGE_DIR, *dir = getenv("YG_GUEST_DIR");
	char script[PATH_MAX];
	const char *av[16];
	bool force = false, update = false, hash = false;
	unsigned long long bytes;
	int o, n = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': suite = optarg; break;
		case 'p': packages = optarg; break;
		case 'S': size = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		case 'u': update = true; break;
		case 'H': hash = true; break;
		default: return yg_ctl_usage("image");
		}
	}
	if (hash ? optind != argc : optind != argc - 1)
		return yg_ctl_usage("image");
	if (!hash && !yg_ctl_image_name_ok(argv[optind])) {
		yg_ctl_errf(CMD, "image name '%s' is not valid: use 1 to 64 of a-z 0-9 . _ - "
			    "(starting with a letter or digit)", argv[optind]);
		return YG_CTL_EXIT_USAGE;
	}
	if (size && (yg_parse_size(size, &bytes) < 0 || bytes < (512ull << 20) ||
		     strspn(size, "0123456789KMGT") != strlen(size))) {
		yg_ctl_errf(CMD, "--size '%s' is not valid: use a number with K, M, G or T, "
			    "at least 512M (4G)", size);
		return YG_CTL_EXIT_USAGE;
	}
	if (suite && (!suite[0] || strspn(suite, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		      strlen(suite))) {
		yg_ctl_errf(CMD, "--suite '%s' is not a suite name (bookworm, trixie, ...)", suite);
		return YG_CTL_EXIT_USAGE;
	}
	if (yg_pathf(script, sizeof(script), "%s/build-image.sh",
		     dir && dir[0] ? dir : YG_GUESTDIR) < 0)
		return yg_ctl_errf(CMD, "YG_GUEST_DIR is too long");
	if (access(script, R_OK) < 0)
		return yg_ctl_errf(CMD, "the image builder %s is missing (%s); reinstall "
				   "yolo-gate, or set YG_GUEST_DIR to a source tree's guest/",
				   script, strerror(errno));
	av[n++] = "bash";
	av[n++] = script;
	if (suite) {
		av[n++] = "--suite";
		av[n++] = suite;
	}
	if (packages) {
		av[n++] = "--packages";
		av[n++] = packages;
	}
	if (size) {
		av[n++] = "--size";
		av[n++] = size;
	}
	if (force)
		av[n++] = "--force";
	if (update)
		av[n++] = "--update";
	if (hash) {
		av[n++] = "--inputs-hash";
	} else {
		av[n++] = "--";
		av[n++] = out;
		av[n++] = argv[optind];
	}
	av[n] = NULL;
	fflush(NULL);
	execv("/bin/bash", (char *const *)av);
	return yg_ctl_errf(CMD, "cannot run /bin/bash %s: %s", script, strerror(errno));
}

int yg_ctl_image(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "build"))
		return image_build(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return yg_ctl_image_check(argc - 1, argv + 1);
	return yg_ctl_usage("image");
}
