# SPDX-License-Identifier: MIT
# tests/attack: the fault-and-attack suite; see docs/SECURITY.md.
# attackclient: hostile protocol clients and a fake broker.
check_PROGRAMS += tests/attack/attackclient
tests_attack_attackclient_SOURCES = tests/attack/attackclient.c
tests_attack_attackclient_LDADD = src/core/libygcore.la

# shell.sh needs no root (its setuid/setcap cases run only as root).
UNIT_TESTS += tests/attack/shell.sh
dist_check_SCRIPTS += tests/attack/shell.sh
# socketmode.sh: the broker's socket mode from the umask, nothing by path.
UNIT_TESTS += tests/attack/socketmode.sh
dist_check_SCRIPTS += tests/attack/socketmode.sh

# Root: real libvirtd + QEMU + the broker (CI runs them in the ASan build too).
INTEGRATION_TESTS += tests/attack/broker.sh
dist_check_SCRIPTS += tests/attack/broker.sh
# agent.sh: dead/hostile guest agents (item 9); runfull.sh: run_dir full
# (item 12); libvirtd.sh: libvirtd restarted mid-session and mid-revert (item
# 8; it restarts the machine's shared libvirtd).
INTEGRATION_TESTS += tests/attack/agent.sh tests/attack/runfull.sh tests/attack/libvirtd.sh
dist_check_SCRIPTS += tests/attack/agent.sh tests/attack/runfull.sh tests/attack/libvirtd.sh
# agentgarbage.sh: a fake agent answering garbage or a 100 MB line (item 9).
INTEGRATION_TESTS += tests/attack/agentgarbage.sh
dist_check_SCRIPTS += tests/attack/agentgarbage.sh
# end.sh: yolo-gatectl end against stale records, a killed child's records.
INTEGRATION_TESTS += tests/attack/end.sh
dist_check_SCRIPTS += tests/attack/end.sh
# flood.sh: connection caps per user and in total; root always answered.
INTEGRATION_TESTS += tests/attack/flood.sh
dist_check_SCRIPTS += tests/attack/flood.sh
# hung.sh: a libvirt that accepts and never answers, one that stops
# answering mid-session (issue 13 item 4; it SIGSTOPs the shared libvirtd
# for ~15 s).
INTEGRATION_TESTS += tests/attack/hung.sh
dist_check_SCRIPTS += tests/attack/hung.sh
# keys.sh: keys only onto a tmpfs, never through a symlink, owned by
# inject_owner; the broker non-dumpable, no core, no key copy (issue #13).
INTEGRATION_TESTS += tests/attack/keys.sh
dist_check_SCRIPTS += tests/attack/keys.sh
# killchild.sh: a session child killed with SIGKILL: its box is cleaned up.
INTEGRATION_TESTS += tests/attack/killchild.sh
dist_check_SCRIPTS += tests/attack/killchild.sh
EXTRA_DIST += tests/attack/lib-attack.sh docs/SECURITY.md
# stall.sh: a client that reads nothing while the guest writes at full speed
# (issue 13, defect 2): the session child's memory stays bounded.
INTEGRATION_TESTS += tests/attack/stall.sh
dist_check_SCRIPTS += tests/attack/stall.sh
