/* yg_nodump.c: see yg_nodump.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "yg_nodump.h"

int yg_nodump(yg_err *err)
{
	const struct rlimit zero = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &zero) < 0)
		return yg_err_set(err, -errno, "cannot set RLIMIT_CORE to 0: %s", strerror(errno));
	errno = 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return yg_err_set(err, errno ? -errno : -EPERM, "cannot make the process "
				  "non-dumpable (prctl PR_SET_DUMPABLE): %s", strerror(errno));
	return 0;
}
