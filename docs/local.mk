# SPDX-License-Identifier: MIT
# docs: man pages are listed by the fragment of the component they document;
# this test lints all of them.
UNIT_TESTS += docs/manlint.sh
dist_check_SCRIPTS += docs/manlint.sh
EXTRA_DIST += docs/HACKING.md
EXTRA_DIST += docs/examples/coordinator.sh
