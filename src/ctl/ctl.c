/* SPDX-License-Identifier: MIT */
/* yolo-gatectl: the admin CLI.  main() only dispatches through the table
 * below; each subcommand lives in its own ctl_<name>.c file. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_network.h"
#include "ctl_sessions.h"

static const struct yg_ctl_cmd cmds[] = {
	{ "check", yg_ctl_check, "[--config DIR] [--user NAME] [--sshd-config FILE]",
	  "lint the policy, or show a user's effective policy" },
	{ "status", yg_ctl_status, "[--config DIR] [--json]",
	  "every box the policy knows, on every host: state, clean, session "
	  "holder; one line per host" },
	{ "provision", yg_ctl_provision,
	  "[--config DIR] --base IMAGE [--template NAME|FILE]\n"
	  "        [--force] [--update]\n"
	  "        [--vcpus N] [--memory MIB] [--disk-size SIZE]"
	  " [--virt-type kvm|qemu]\n"
	  "        [--kernel FILE --initrd FILE] [--images DIR] [--host NAME]"
	  " [--boot-timeout SECS] USER",
	  "build USER's box: overlay, domain, boot, snapshot, clean and paused" },
	{ "deprovision", yg_ctl_deprovision, "[--config DIR] [--images DIR] [--host NAME] USER",
	  "remove USER's domain, snapshots, overlay and key file" },
	{ "revert", yg_ctl_revert, "[--config DIR] USER",
	  "revert USER's box to its snapshot now (not under a session)" },
	{ "sweep", yg_ctl_sweep, "[--config DIR]",
	  "boot time: revert every box not provably clean, remove stale "
	  "runtime files" },
	{ "network", yg_ctl_network,
	  "[--config DIR] [--host NAME] create [--subnet A.B.C.D/P] [--bridge NAME]\n"
	  "        NAME | [--host NAME] remove NAME",
	  "NAT-only libvirt network for boxes + the filter every box "
	  "interface uses" },
	{ "sessions", yg_ctl_sessions, "[--config DIR] [--json]",
	  "running sessions: id, user, box, host, from, started, idle for, time left" },
	{ "end", yg_ctl_end, "[--config DIR] [--message TEXT] SESSION",
	  "end a session (the user sees TEXT), then its box is reverted" },
	{ "image", yg_ctl_image,
	  "build [--suite SUITE] [--packages LIST] [--size SIZE] [--out DIR]\n"
	  "        [--force | --update] NAME | build --inputs-hash [...]\n"
	  "        | check [--config DIR | --uri URI] [--kernel FILE [--initrd FILE]]\n"
	  "        [--cmdline ARGS] [--virt-type kvm|qemu] [--memory MIB]\n"
	  "        [--boot-timeout SECS] [--key-dir DIR] IMAGE",
	  "build a Debian base image (mmdebstrap), or boot an image once and "
	  "check the guest contract" },
	{ "keys", yg_ctl_keys, "[--config DIR] set|rm|list USER [NAME]",
	  "manage USER's key file (set reads the value from stdin)" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

int yg_ctl_usage(const char *cmd)
{
	bool one = false;

	for (size_t i = 0; i < NCMDS; i++)
		if (cmd && !strcmp(cmd, cmds[i].name))
			one = true;
	fprintf(stderr, "usage:\n");
	for (size_t i = 0; i < NCMDS; i++)
		if (!one || (cmd && !strcmp(cmd, cmds[i].name)))
			fprintf(stderr, "  yolo-gatectl %s %s\n      %s\n",
				cmds[i].name, cmds[i].usage, cmds[i].help);
	if (!one)
		fprintf(stderr, "  yolo-gatectl help | --help\n"
			"See yolo-gatectl(8).\n");
	return YG_CTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name || !strcmp(name, "help") || !strcmp(name, "--help") ||
	    !strcmp(name, "-h"))
		return yg_ctl_usage(NULL);
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(name, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "yolo-gatectl: unknown subcommand '%s'\n", name);
	return yg_ctl_usage(NULL);
}
