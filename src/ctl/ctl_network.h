/* SPDX-License-Identifier: MIT */
/* ctl_network.h: yolo-gatectl network: the NAT network boxes use and the
 * nwfilter every box interface carries (see ctl_network.c). */
#ifndef YG_CTL_NETWORK_H
#define YG_CTL_NETWORK_H

#include "yg_box.h"
#include "yg_domain.h"
#include "yg_err.h"

/* The subnet `network create` uses without --subnet. */
#define YG_CTL_NET_SUBNET "192.168.213.0/24"

/* yolo-gatectl network create|remove ... */
int yg_ctl_network(int argc, char **argv) YG_MUST_CHECK;

/* Name of the nwfilter of network net ("yolo-gate-NET") into buf. */
int yg_ctl_network_filter_name(const char *net, char *buf, size_t len,
			       yg_err *err) YG_MUST_CHECK;

/* Give the box dom its interface on network net (policy `network`) with
 * the network's filter; nothing for "none" or an empty name.  The network
 * and its filter must exist (the error says to run yolo-gatectl network
 * create NET).  0 or -errno with err. */
int yg_ctl_network_attach(virConnectPtr conn, yg_dom *dom, const char *net,
			  yg_err *err) YG_MUST_CHECK;

#endif
