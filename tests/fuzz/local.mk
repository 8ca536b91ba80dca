# SPDX-License-Identifier: MIT
# tests/fuzz: libFuzzer targets. In the ordinary build each target is linked
# with replay.c, a stub main, and tests/fuzz/replay.sh feeds it its committed
# corpus under `make check`. With --enable-fuzzing (CC=clang) libFuzzer
# provides main: run e.g. tests/fuzz/fuzz_proto -max_total_time=60 \
#   -dict=$(srcdir)/tests/fuzz/proto.dict CORPUS_COPY/
FUZZ_TARGETS = tests/fuzz/fuzz_proto tests/fuzz/fuzz_keyfile tests/fuzz/fuzz_policy tests/fuzz/fuzz_pamopts \
	tests/fuzz/fuzz_rundir tests/fuzz/fuzz_chan
check_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_LDADD = src/core/libygcore.la

tests_fuzz_fuzz_proto_SOURCES = tests/fuzz/fuzz_proto.c tests/fuzz/fuzz_frames.h
tests_fuzz_fuzz_proto_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_keyfile_SOURCES = tests/fuzz/fuzz_keyfile.c
tests_fuzz_fuzz_keyfile_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c
tests_fuzz_fuzz_policy_LDADD = policy/libygpolicy.la $(FUZZ_LDADD)
tests_fuzz_fuzz_pamopts_SOURCES = tests/fuzz/fuzz_pamopts.c
tests_fuzz_fuzz_pamopts_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pam
tests_fuzz_fuzz_pamopts_LDADD = pam/libygpam.la
tests_fuzz_fuzz_rundir_SOURCES = tests/fuzz/fuzz_rundir.c
tests_fuzz_fuzz_rundir_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_chan_SOURCES = tests/fuzz/fuzz_chan.c tests/fuzz/fuzz_frames.h
tests_fuzz_fuzz_chan_LDADD = $(FUZZ_LDADD)

if YG_FUZZING
tests_fuzz_fuzz_proto_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_keyfile_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_policy_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_pamopts_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_rundir_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_chan_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
else
tests_fuzz_fuzz_proto_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_keyfile_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_policy_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_pamopts_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_rundir_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_chan_SOURCES += tests/fuzz/replay.c
UNIT_TESTS += tests/fuzz/replay.sh
endif
dist_check_SCRIPTS += tests/fuzz/replay.sh tests/fuzz/run-fuzzers.sh
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/proto.dict tests/fuzz/keyfile.dict tests/fuzz/policy.dict tests/fuzz/pamopts.dict \
	tests/fuzz/rundir.dict tests/fuzz/chan.dict

# Every fuzz target, for .ci/run's libFuzzer build.
fuzz-targets: $(FUZZ_TARGETS)
.PHONY: fuzz-targets
