/* SPDX-License-Identifier: MIT */
/* yg_nodump.c: see yg_nodump.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "yg_log.h"
#include "yg_nodump.h"

/* libvirt's client library reads these when it initialises; at debug level
 * it logs every guest agent command, key bytes included. */
static const char *const libvirt_log_env[] = {
	"LIBVIRT_DEBUG", "LIBVIRT_LOG_FILTERS", "LIBVIRT_LOG_OUTPUTS", NULL
};

int yg_nodump(yg_err *err)
{
	const struct rlimit zero = { 0, 0 };

	for (size_t i = 0; libvirt_log_env[i]; i++) {
		if (!getenv(libvirt_log_env[i]))
			continue;
		yg_log(YG_LOG_WARNING, "event", "libvirt_log_ignored", "name", libvirt_log_env[i],
		       "why", "libvirt's debug log would hold key bytes", NULL);
		unsetenv(libvirt_log_env[i]);
	}
	if (setrlimit(RLIMIT_CORE, &zero) < 0)
		return yg_err_set(err, -errno, "cannot set RLIMIT_CORE to 0: %s", strerror(errno));
	errno = 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return yg_err_set(err, errno ? -errno : -EPERM, "cannot make the process "
				  "non-dumpable (prctl PR_SET_DUMPABLE): %s", strerror(errno));
	return 0;
}
