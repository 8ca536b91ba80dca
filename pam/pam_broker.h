/* pam_broker.h: what of the broker protocol is the PAM module's own. The
 * exchange itself (connect, HELLO, one typed call per request, the bounds)
 * is yg_client in libygcore (src/core/yg_client.h).
 */
#ifndef YG_PAM_BROKER_H
#define YG_PAM_BROKER_H

#include <stdbool.h>

/* A session id is safe to put in the environment and in logs: 1..40 of
 * [A-Za-z0-9._-]. */
bool yg_pam_session_id_valid(const char *id);

#endif
