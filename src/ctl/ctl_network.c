/* SPDX-License-Identifier: MIT */
/* ctl_network.c: yolo-gatectl network: a NAT-only libvirt network for boxes
 * and the nwfilter every box interface on it carries.
 *
 *   network create [--subnet A.B.C.D/P] NAME
 *     defines (if missing), autostarts and starts the libvirt network NAME:
 *     NAT, DHCP, ports isolated from each other; then (re)defines the
 *     filters yolo-gate-NAME (clean-traffic + the egress rules below) and
 *     yolo-gate-NAME-egress.  Redefining updates running boxes, so run it
 *     again when the host's addresses change.
 *   network remove NAME
 *     the network and its filters (libvirt refuses while a box uses them).
 *
 * Egress rules (guest -> anywhere, ebtables level, so they see traffic to
 * the host itself, routed traffic and bridged traffic alike): DHCP to the
 * bridge or broadcast and DNS to the bridge pass; everything else to the
 * bridge, to any address of the host, to private, shared, loopback,
 * link-local (169.254.169.254 included), multicast and reserved ranges, and
 * to the box subnet (other boxes) is dropped.  The rest is NATed out.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_network.h"
#include "yg_net.h"

#define CMD "network"
#define MAX_HOST_ADDRS 128

struct net {
	const char *confdir, *name, *subnet_arg, *bridge;
	const char *host;	/* --host: the [host:] to make it on (NULL: local) */
	uint32_t addr, mask;	/* host order: network address, netmask */
	unsigned prefix;
	virConnectPtr conn;
};

/* Destinations a box never reaches (besides the host and its subnet). */
static const struct {
	const char *addr;
	unsigned prefix;
	const char *what;
} blocked[] = {
	{ "0.0.0.0", 8, "this network" },
	{ "10.0.0.0", 8, "RFC1918" },
	{ "100.64.0.0", 10, "shared address space (CGNAT)" },
	{ "127.0.0.0", 8, "loopback" },
	{ "169.254.0.0", 16, "link-local, cloud metadata 169.254.169.254" },
	{ "172.16.0.0", 12, "RFC1918" },
	{ "192.0.0.0", 24, "IETF protocol assignments" },
	{ "192.168.0.0", 16, "RFC1918" },
	{ "198.18.0.0", 15, "benchmarking" },
	{ "224.0.0.0", 4, "multicast" },
	{ "240.0.0.0", 4, "reserved, broadcast" },
};

static uint32_t prefix_mask(unsigned p)
{
	return p ? 0xffffffffu << (32 - p) : 0;
}

static void ip_str(uint32_t a, char *buf, size_t len)
{
	struct in_addr in = { .s_addr = htonl(a) };

	inet_ntop(AF_INET, &in, buf, (socklen_t)len);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 40 && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") == n;
}

int yg_ctl_network_filter_name(const char *net, char *buf, size_t len,
			       yg_err *err)
{
	if (!valid_name(net))
		return yg_err_set(err, -EINVAL, "network name '%s' is not "
				  "valid: use up to 40 letters, digits, '_' "
				  "or '-'", net);
	snprintf(buf, len, "yolo-gate-%s", net);
	return 0;
}

/* "A.B.C.D/P" with 16 <= P <= 29 and no host bits. */
static int parse_subnet(struct net *n, const char *s, yg_err *err)
{
	char a[INET_ADDRSTRLEN], *end;
	const char *slash = strchr(s, '/');
	struct in_addr in;
	unsigned long p;

	if (!slash || (size_t)(slash - s) >= sizeof(a))
		goto bad;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, a, &in) != 1 || errno || *end ||
	    end == slash + 1 || p < 16 || p > 29)
		goto bad;
	n->prefix = (unsigned)p;
	n->mask = prefix_mask(n->prefix);
	n->addr = ntohl(in.s_addr);
	if (n->addr & ~n->mask)
		return yg_err_set(err, -EINVAL, "subnet %s has host bits set; "
				  "give the network address (e.g. %s)", s,
				  YG_CTL_NET_SUBNET);
	return 0;
bad:
	return yg_err_set(err, -EINVAL, "subnet '%s' is not valid: give an "
			  "IPv4 network with a prefix from 16 to 29 (e.g. %s)",
			  s, YG_CTL_NET_SUBNET);
}

static bool overlaps(uint32_t a, uint32_t am, uint32_t b, uint32_t bm)
{
	uint32_t m = am & bm;	/* the shorter prefix */

	return (a & m) == (b & m);
}

/* The subnet must not collide with any IPv4 route or address of the host
 * (the default route aside). */
static int check_free(const struct net *n, yg_err *err)
{
	char line[256], dst[INET_ADDRSTRLEN], ifname[32];
	unsigned int d, g, flags, refcnt, use, metric, m;
	struct ifaddrs *ifs = NULL, *i;
	FILE *f = fopen("/proc/net/route", "re");
	int rc = 0;

	while (f && rc == 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %x %x %x %u %u %u %x", ifname, &d, &g,
			   &flags, &refcnt, &use, &metric, &m) != 8 || !m)
			continue;
		if (overlaps(n->addr, n->mask, ntohl(d), ntohl(m))) {
			ip_str(ntohl(d), dst, sizeof(dst));
			rc = yg_err_set(err, -EADDRINUSE, "subnet of network "
					"%s collides with the host's route to "
					"%s/%d on %s; pick a free one with "
					"--subnet", n->name, dst,
					__builtin_popcount(m), ifname);
		}
	}
	if (f)
		fclose(f);
	if (rc == 0 && getifaddrs(&ifs) == 0) {
		for (i = ifs; i && rc == 0; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			d = ntohl(((struct sockaddr_in *)i->ifa_addr)->
				  sin_addr.s_addr);
			if ((d & n->mask) == n->addr) {
				ip_str(d, dst, sizeof(dst));
				rc = yg_err_set(err, -EADDRINUSE, "subnet of "
						"network %s contains the "
						"host's address %s (%s); pick "
						"a free one with --subnet",
						n->name, dst, i->ifa_name);
			}
		}
	}
	freeifaddrs(ifs);
	return rc;
}

static int network_xml(const struct net *n, char **out)
{
	char gw[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], lo[INET_ADDRSTRLEN],
	     hi[INET_ADDRSTRLEN];
	size_t len;
	FILE *f = open_memstream(out, &len);

	if (!f)
		return -ENOMEM;
	ip_str(n->addr + 1, gw, sizeof(gw));
	ip_str(n->mask, mask, sizeof(mask));
	ip_str(n->addr + 2, lo, sizeof(lo));
	ip_str((n->addr | ~n->mask) - 1, hi, sizeof(hi));
	fprintf(f, "<network>\n  <name>%s</name>\n"
		"  <!-- yolo-gate boxes: NAT only; the filter yolo-gate-%s on "
		"every box interface closes the host and private ranges -->\n"
		"  <forward mode='nat'/>\n", n->name, n->name);
	if (n->bridge)
		fprintf(f, "  <bridge name='%s' stp='off'/>\n", n->bridge);
	else
		fprintf(f, "  <bridge stp='off'/>\n");
	fprintf(f, "  <port isolated='yes'/>\n"
		"  <ip address='%s' netmask='%s'>\n"
		"    <dhcp><range start='%s' end='%s'/></dhcp>\n"
		"  </ip>\n</network>\n", gw, mask, lo, hi);
	return fclose(f) ? -ENOMEM : 0;
}

static void drop_rule(FILE *f, unsigned prio, uint32_t a, unsigned prefix,
		      const char *what)
{
	char s[INET_ADDRSTRLEN];

	ip_str(a, s, sizeof(s));
	fprintf(f, "  <!-- %s -->\n  <rule action='drop' direction='out' "
		"priority='%u'>\n    <ip dstipaddr='%s' dstipmask='%u'/>\n"
		"  </rule>\n", what, prio, s, prefix);
}

/* The egress filter: ipv4 chain of its own, after no-ip-spoofing (-710). */
static int egress_xml(const struct net *n, const char *fname, char **out)
{
	struct ifaddrs *ifs = NULL, *i;
	char gw[INET_ADDRSTRLEN];
	unsigned prio = 300;
	size_t len, k;
	FILE *f = open_memstream(out, &len);

	if (!f)
		return -ENOMEM;
	ip_str(n->addr + 1, gw, sizeof(gw));
	fprintf(f, "<filter name='%s-egress' chain='ipv4-yolo' "
		"priority='-690'>\n"
		"  <!-- written by yolo-gatectl network create %s; run it "
		"again when the host's addresses change -->\n"
		"  <rule action='return' direction='out' priority='100'>\n"
		"    <ip dstipaddr='255.255.255.255' protocol='udp' "
		"dstportstart='67' dstportend='67'/>\n  </rule>\n"
		"  <rule action='return' direction='out' priority='101'>\n"
		"    <ip dstipaddr='%s' protocol='udp' dstportstart='67' "
		"dstportend='67'/>\n  </rule>\n"
		"  <rule action='return' direction='out' priority='102'>\n"
		"    <ip dstipaddr='%s' protocol='udp' dstportstart='53' "
		"dstportend='53'/>\n  </rule>\n"
		"  <rule action='return' direction='out' priority='103'>\n"
		"    <ip dstipaddr='%s' protocol='tcp' dstportstart='53' "
		"dstportend='53'/>\n  </rule>\n",
		fname, n->name, gw, gw, gw);
	drop_rule(f, 200, n->addr + 1, 32, "the host on the bridge");
	drop_rule(f, 201, n->addr, n->prefix, "other boxes");
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i && prio < 300 + MAX_HOST_ADDRS;
		     i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			drop_rule(f, prio++, ntohl(((struct sockaddr_in *)
				  i->ifa_addr)->sin_addr.s_addr), 32,
				  "an address of the host");
		}
		freeifaddrs(ifs);
	}
	for (k = 0; k < sizeof(blocked) / sizeof(blocked[0]); k++) {
		struct in_addr in;

		inet_pton(AF_INET, blocked[k].addr, &in);
		drop_rule(f, 600 + (unsigned)k, ntohl(in.s_addr),
			  blocked[k].prefix, blocked[k].what);
	}
	fprintf(f, "</filter>\n");
	return fclose(f) ? -ENOMEM : 0;
}

static int filters(const struct net *n, yg_err *err)
{
	char fname[64], ename[80], root[256], *xml = NULL;
	int rc;

	rc = yg_ctl_network_filter_name(n->name, fname, sizeof(fname), err);
	snprintf(ename, sizeof(ename), "%s-egress", fname);
	if (rc == 0 && egress_xml(n, fname, &xml) < 0)
		rc = yg_err_set(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = yg_nwfilter_define(n->conn, ename, xml, err);
	free(xml);
	snprintf(root, sizeof(root), "<filter name='%s' chain='root'>\n"
		 "  <filterref filter='clean-traffic'/>\n"
		 "  <filterref filter='%s'/>\n</filter>\n", fname, ename);
	return rc ? rc : yg_nwfilter_define(n->conn, fname, root, err);
}

/* The subnet of an existing network, from its XML. */
static int existing_subnet(struct net *n, const char *xml, yg_err *err)
{
	const char *a, *m;
	struct in_addr ia, im;
	char as[INET_ADDRSTRLEN] = "", ms[INET_ADDRSTRLEN] = "";
	int rc = 0;

	a = xml ? strstr(xml, "<ip address='") : NULL;
	m = a ? strstr(a, "netmask='") : NULL;
	if (!a || !m || sscanf(a, "<ip address='%15[0-9.]'", as) != 1 ||
	    sscanf(m, "netmask='%15[0-9.]'", ms) != 1 ||
	    inet_pton(AF_INET, as, &ia) != 1 ||
	    inet_pton(AF_INET, ms, &im) != 1)
		rc = yg_err_set(err, -EINVAL, "network %s exists but has no "
				"IPv4 address with a netmask; it was not made "
				"by yolo-gatectl: remove it or pick another "
				"name", n->name);
	if (rc)
		return rc;
	n->mask = ntohl(im.s_addr);
	n->prefix = (unsigned)__builtin_popcount(n->mask);
	n->addr = ntohl(ia.s_addr) & n->mask;
	return 0;
}

static int create(struct net *n, yg_err *err)
{
	struct net want = *n;
	char *xml = NULL, sub[INET_ADDRSTRLEN];
	int rc;

	rc = yg_net_get_xml(n->conn, n->name, &xml, err);
	if (rc == 0) {
		rc = existing_subnet(n, xml, err);
		if (rc == 0 && n->subnet_arg &&
		    (want.addr != n->addr || want.prefix != n->prefix)) {
			ip_str(n->addr, sub, sizeof(sub));
			rc = yg_err_set(err, -EEXIST, "network %s exists with "
					"subnet %s/%u; remove it first "
					"(yolo-gatectl network remove %s)",
					n->name, sub, n->prefix, n->name);
		}
		if (rc == 0)
			printf("network %s exists: kept, filters updated\n",
			       n->name);
	} else if (rc == -ENOENT) {
		yg_err_clear(err);
		/* this host's routes say nothing of another's: there, libvirt's
		 * own check (at net-start: "already in use by interface") is it */
		rc = !n->host || !strcmp(n->host, "local") ? check_free(n, err) : 0;
		if (rc == 0 && network_xml(n, &xml) < 0)
			rc = yg_err_set(err, -ENOMEM, "out of memory");
		if (rc == 0)
			rc = yg_net_define(n->conn, n->name, xml, err);
	}
	free(xml);
	if (rc == 0)
		rc = yg_net_start(n->conn, n->name, err);
	if (rc == 0)
		rc = filters(n, err);
	if (rc == 0) {
		ip_str(n->addr, sub, sizeof(sub));
		printf("network %s: %s/%u, NAT, filter yolo-gate-%s; give "
		       "boxes `network = %s` in the policy\n", n->name, sub,
		       n->prefix, n->name, n->name);
	}
	return rc;
}

static int remove_net(struct net *n, yg_err *err)
{
	char fname[80];
	bool existed;
	int rc;

	rc = yg_net_remove(n->conn, n->name, &existed, err);
	for (int k = 0; rc == 0 && k < 2; k++) {
		snprintf(fname, sizeof(fname), "yolo-gate-%s%s", n->name,
			 k ? "-egress" : "");
		rc = yg_nwfilter_remove(n->conn, fname, &existed, err);
	}
	if (rc == 0)
		printf("network %s and its filters removed\n", n->name);
	return rc;
}

int yg_ctl_network_attach(virConnectPtr conn, yg_dom *dom, const char *net,
			   yg_err *err)
{
	char fname[64];
	bool have_net, have_filter;
	int rc;

	if (!net || !net[0] || !strcmp(net, "none"))
		return 0;
	rc = yg_ctl_network_filter_name(net, fname, sizeof(fname), err);
	if (rc < 0)
		return rc;
	have_net = yg_net_defined(conn, net);
	have_filter = yg_nwfilter_defined(conn, fname);
	if (!have_net || !have_filter)
		return yg_err_set(err, -ENOENT, "the policy gives network %s, "
				  "but %s is not defined; create it with: "
				  "yolo-gatectl network create %s", net,
				  have_net ? fname : "that network", net);
	return yg_net_attach(dom, net, fname, err);
}

int yg_ctl_network(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "subnet", required_argument, NULL, 's' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct net n = { 0 };
	yg_policy *pol = NULL;
	const char *verb;
	yg_err err;
	int o, rc;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': n.confdir = optarg; break;
		case 's': n.subnet_arg = optarg; break;
		case 'b': n.bridge = optarg; break;
		case 'H': n.host = optarg; break;
		default: return yg_ctl_usage(CMD);
		}
	}
	if (optind != argc - 2)
		return yg_ctl_usage(CMD);
	verb = argv[optind];
	n.name = argv[optind + 1];
	if (strcmp(verb, "create") && strcmp(verb, "remove"))
		return yg_ctl_usage(CMD);
	if (!valid_name(n.name) || !strcmp(n.name, "none")) {
		yg_ctl_errf(CMD, "network name '%s' is not valid: use up to "
			    "40 letters, digits, '_' or '-' (not 'none')",
			    n.name);
		return YG_CTL_EXIT_USAGE;
	}
	if (n.bridge && (strlen(n.bridge) > 15 || !valid_name(n.bridge))) {
		yg_ctl_errf(CMD, "--bridge '%s' is not valid: up to 15 "
			    "letters, digits, '_' or '-'", n.bridge);
		return YG_CTL_EXIT_USAGE;
	}
	if (parse_subnet(&n, n.subnet_arg ? n.subnet_arg : YG_CTL_NET_SUBNET,
			 &err) < 0) {
		yg_ctl_fail(CMD, &err);
		return YG_CTL_EXIT_USAGE;
	}
	rc = yg_ctl_policy_load(CMD, n.confdir, &pol);
	if (rc == 0)
		rc = yg_ctl_connect_host(CMD, pol, n.host, &n.conn);
	if (rc == 0) {
		rc = !strcmp(verb, "create") ? create(&n, &err) :
		     remove_net(&n, &err);
		rc = rc < 0 ? yg_ctl_fail(CMD, &err) : YG_CTL_EXIT_OK;
	}
	yg_conn_close(n.conn);
	yg_policy_free(pol);
	return rc;
}
