# SPDX-License-Identifier: MIT
# src/shell: yolo-shell, the gated user's login shell (unprivileged client).
# Everything but main lives in a small library so tests/unit/shelltest.c links
# the pure helpers and the relay alone. Calls go one way: yolo-shell.c ->
# relay -> say, tty, text; nothing calls back into yolo-shell.c.
noinst_LTLIBRARIES += src/shell/libygshell.la
src_shell_libygshell_la_SOURCES = \
	src/shell/yg_shell_text.c src/shell/yg_shell_text.h \
	src/shell/yg_shell.h src/shell/yg_shell_say.c \
	src/shell/yg_shell_tty.c src/shell/yg_shell_relay.c

bin_PROGRAMS += src/shell/yolo-shell
src_shell_yolo_shell_SOURCES = src/shell/yolo-shell.c
src_shell_yolo_shell_LDADD = src/shell/libygshell.la src/core/libygcaps.la src/core/libygcore.la
dist_man_MANS += docs/yolo-shell.1

check_PROGRAMS += tests/unit/shelltest
UNIT_TESTS += tests/unit/shelltest
tests_unit_shelltest_SOURCES = tests/unit/shelltest.c
tests_unit_shelltest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/src/shell -pthread
tests_unit_shelltest_LDADD = src/shell/libygshell.la src/core/libygcore.la $(CMOCKA_LIBS) -lpthread
