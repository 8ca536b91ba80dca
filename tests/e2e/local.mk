# SPDX-License-Identifier: MIT
# tests/e2e: a real sshd on 127.0.0.1, real test users whose shell is
# yolo-shell, a real ssh client through a pty (expect). Root; `make check-e2e`.
# login.sh also needs libvirtd + QEMU, yolo-gated and the integration tier's
# gatedclient (a check program) and lib.sh.
E2E_TESTS += \
	tests/e2e/sshd.sh \
	tests/e2e/forward.sh \
	tests/e2e/login.sh
EXTRA_DIST += \
	tests/e2e/lib-e2e.sh \
	tests/e2e/ssh-session.exp \
	tests/e2e/sshd.sh \
	tests/e2e/forward.sh \
	tests/e2e/login.sh
# share.sh: second logins through sshd + PAM (takeover, attach), [box:] boxes
# over ssh (YOLO_BOX), a disabled user told why.
E2E_TESTS += tests/e2e/share.sh
EXTRA_DIST += tests/e2e/share.sh
# image.sh: the Debian 12 image (yolo-gatectl image build, cached by its
# inputs), image check, provision with the cloud template, logins through
# the broker and through sshd.
E2E_TESTS += tests/e2e/image.sh
EXTRA_DIST += tests/e2e/image.sh
# remote.sh: remote commands and file transfer through sshd into the box
# (issue 14): ssh CMD (stdout, stderr, status, binary stdin, ssh -tt),
# scp (both protocols), sftp, rsync, tar; linger and the session rule;
# concurrent commands; remote = no; ForceCommand; the audit events.
E2E_TESTS += tests/e2e/remote.sh
EXTRA_DIST += tests/e2e/remote.sh
# hosts.sh: one gate, two hypervisor hosts (issue 17): logins on both at
# once through sshd, a host lost mid-session and back, a host unreachable.
E2E_TESTS += tests/e2e/hosts.sh
EXTRA_DIST += tests/e2e/hosts.sh
