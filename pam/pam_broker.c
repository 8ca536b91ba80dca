/* pam_broker.c: see pam_broker.h */
#include "config.h"

#include <string.h>

#include "pam_broker.h"
#include "yg_proto.h"

bool yg_pam_session_id_valid(const char *id)
{
	size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	return n > 0 && n <= YG_SESSION_MAX && id[n] == '\0';
}
