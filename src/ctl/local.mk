# src/ctl: yolo-gatectl, the admin CLI.  ctl.c holds the subcommand table;
# each subcommand is its own ctl_<name>.c.
sbin_PROGRAMS += src/ctl/yolo-gatectl
src_ctl_yolo_gatectl_SOURCES = src/ctl/ctl.h src/ctl/ctl.c \
	src/ctl/ctl_check.c
src_ctl_yolo_gatectl_LDADD = policy/libygpolicy.la src/lib/libyg.la
dist_man_MANS += docs/yolo-gatectl.8
UNIT_TESTS += src/ctl/ctltest.sh
dist_check_SCRIPTS += src/ctl/ctltest.sh
