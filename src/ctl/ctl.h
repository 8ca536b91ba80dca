/* ctl.h: yolo-gatectl subcommands.  Each subcommand lives in its own file
 * (ctl_<name>.c) and is listed in the table in ctl.c.  A subcommand gets
 * argv starting at its own name and returns the process exit status:
 * 0 success, 1 failure (problems found), 2 usage error. */
#ifndef YG_CTL_H
#define YG_CTL_H

#define YG_CTL_EXIT_OK 0
#define YG_CTL_EXIT_FAIL 1
#define YG_CTL_EXIT_USAGE 2

struct yg_ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;  /* arguments after the name */
	const char *help;   /* one line */
};

/* Print the usage of one subcommand (or all when cmd is NULL) on stderr
 * and return YG_CTL_EXIT_USAGE. */
int yg_ctl_usage(const char *cmd);

int yg_ctl_check(int argc, char **argv);

#endif
