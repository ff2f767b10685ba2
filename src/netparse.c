#include "netparse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Unix socket flag of a listening socket, as /proc/net/unix prints it. */
#define UNIX_FLAG_ACCEPTCON 0x10000u
/* Unix socket state SS_CONNECTED in /proc/net/unix. */
#define UNIX_SS_CONNECTED 3
/* Kernel TCP state numbers used for unix sockets (include/net/tcp_states.h). */
enum { ST_ESTABLISHED = 1, ST_CLOSE = 7, ST_LISTEN = 10 };

void netparse_format_inet(int family, const void *addr, uint16_t port, char *out, size_t outsz)
{
	char ip[INET6_ADDRSTRLEN];

	if (!outsz)
		return;
	if (!inet_ntop(family, addr, ip, sizeof(ip))) {
		out[0] = '\0';
		return;
	}
	if (family == AF_INET6)
		snprintf(out, outsz, "[%s]:%u", ip, port);
	else
		snprintf(out, outsz, "%s:%u", ip, port);
}

/* A peer that is the unspecified address with port 0 is no peer at all
 * (listening and unconnected sockets): leave remote empty then. */
static void format_peer(int family, const void *addr, uint16_t port, char *out, size_t outsz)
{
	static const unsigned char zero[16];
	size_t alen = family == AF_INET6 ? 16 : 4;

	if (port == 0 && memcmp(addr, zero, alen) == 0)
		out[0] = '\0';
	else
		netparse_format_inet(family, addr, port, out, outsz);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly ndigits hex digits at *p; advances *p. */
static bool scan_hex_fixed(const char **p, unsigned ndigits, uint32_t *out)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < ndigits; i++) {
		int d = hexval((*p)[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*p += ndigits;
	*out = v;
	return true;
}

/* One to eight hex digits; advances *p. */
static bool scan_hex(const char **p, uint32_t *out)
{
	uint32_t v = 0;
	unsigned n = 0;

	while (hexval(**p) >= 0) {
		if (++n > 8)
			return false;
		v = v << 4 | (uint32_t)hexval(**p);
		(*p)++;
	}
	*out = v;
	return n > 0;
}

static bool scan_dec(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0;

	while (**p >= '0' && **p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n > 0;
}

static bool skip_spaces(const char **p)
{
	const char *s = *p;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	return *p != s;
}

/* Skip one whitespace-separated field. */
static bool skip_field(const char **p)
{
	const char *s;

	skip_spaces(p);
	s = *p;
	while (**p && **p != ' ' && **p != '\t' && **p != '\n')
		(*p)++;
	return *p != s;
}

/* "ADDR:PORT" where ADDR is one (v4) or four (v6) 32-bit words, each printed
 * by the kernel as the hex of a host-order u32: copying the words back in
 * host order restores the network-order bytes. */
static bool scan_inet_addr(const char **p, int family, void *addr, uint16_t *port)
{
	unsigned words = family == AF_INET6 ? 4 : 1;
	uint32_t w, prt;

	for (unsigned i = 0; i < words; i++) {
		if (!scan_hex_fixed(p, 8, &w))
			return false;
		memcpy((unsigned char *)addr + 4 * i, &w, 4);
	}
	if (**p != ':')
		return false;
	(*p)++;
	if (!scan_hex(p, &prt) || prt > 0xffff)
		return false;
	*port = (uint16_t)prt;
	return true;
}

/* One line of /proc/net/{tcp,udp,raw}[6], without its newline. */
static bool parse_inet_line(const char *p, int family, enum sock_proto proto, struct sock_info *si)
{
	unsigned char laddr[16], raddr[16];
	uint16_t lport, rport;
	uint32_t st, txq, rxq;
	uint64_t slot, ino;

	skip_spaces(&p);
	if (!scan_dec(&p, &slot) || *p++ != ':')
		return false;
	if (!skip_spaces(&p) || !scan_inet_addr(&p, family, laddr, &lport))
		return false;
	if (!skip_spaces(&p) || !scan_inet_addr(&p, family, raddr, &rport))
		return false;
	if (!skip_spaces(&p) || !scan_hex(&p, &st))
		return false;
	if (!skip_spaces(&p) || !scan_hex(&p, &txq) || *p++ != ':' || !scan_hex(&p, &rxq))
		return false;
	/* tr:tm->when, retrnsmt, uid, timeout */
	for (int i = 0; i < 4; i++)
		if (!skip_field(&p))
			return false;
	if (!skip_spaces(&p) || !scan_dec(&p, &ino))
		return false;
	if (*p != ' ' && *p != '\t' && *p != '\0')
		return false;

	memset(si, 0, sizeof(*si));
	si->ino = ino;
	si->proto = proto;
	si->state = (int)st;
	si->wqueue = txq;
	si->rqueue = rxq;
	netparse_format_inet(family, laddr, lport, si->local, sizeof(si->local));
	format_peer(family, raddr, rport, si->remote, sizeof(si->remote));
	return true;
}

/* Calls fn on each complete line after the header.  A last line without its
 * newline was cut off mid-read and is not trusted: a cut inode still looks
 * like a number. */
static int for_each_line(const char *text, bool (*fn)(const char *line, void *ctx), void *ctx)
{
	char line[512];
	const char *p = strchr(text, '\n');
	int n = 0;

	if (!p)
		return 0;
	for (p++; *p; ) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		size_t len = (size_t)(nl - p);
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (fn(line, ctx))
				n++;
		}
		p = nl + 1;
	}
	return n;
}

struct inet_ctx {
	int family;
	enum sock_proto proto;
	netparse_sink sink;
	void *arg;
};

static bool inet_line(const char *line, void *ctx)
{
	struct inet_ctx *c = ctx;
	struct sock_info si;

	if (!parse_inet_line(line, c->family, c->proto, &si))
		return false;
	c->sink(&si, c->arg);
	return true;
}

static int proto_family(enum sock_proto proto)
{
	switch (proto) {
	case PROTO_TCP: case PROTO_UDP: case PROTO_RAW:
		return AF_INET;
	case PROTO_TCP6: case PROTO_UDP6: case PROTO_RAW6:
		return AF_INET6;
	default:
		return -1;
	}
}

/* The header line must be the first line. */
static bool header_has(const char *text, const char *word)
{
	const char *nl = strchr(text, '\n');
	size_t len = nl ? (size_t)(nl - text) : strlen(text);

	return memmem(text, len, word, strlen(word)) != NULL;
}

int netparse_proc_inet(const char *text, enum sock_proto proto, netparse_sink sink, void *arg)
{
	struct inet_ctx c = { proto_family(proto), proto, sink, arg };
	const char *p = text;

	if (c.family < 0)
		return -EINVAL;
	skip_spaces(&p);
	if (strncmp(p, "sl ", 3) != 0 || !header_has(text, "local_address"))
		return -EINVAL;
	return for_each_line(text, inet_line, &c);
}

struct unix_ctx {
	netparse_sink sink;
	void *arg;
};

/* "Num RefCount Protocol Flags Type St Inode Path": the path, when bound,
 * follows the inode after one space and runs to the end of the line. */
static bool unix_line(const char *p, void *ctx)
{
	struct unix_ctx *c = ctx;
	struct sock_info si;
	uint32_t refs, protocol, flags, type, st;
	uint64_t ino;

	if (!skip_field(&p))       /* kernel address, "%pK:" */
		return false;
	if (!skip_spaces(&p) || !scan_hex(&p, &refs) ||
	    !skip_spaces(&p) || !scan_hex(&p, &protocol) ||
	    !skip_spaces(&p) || !scan_hex(&p, &flags) ||
	    !skip_spaces(&p) || !scan_hex(&p, &type) ||
	    !skip_spaces(&p) || !scan_hex(&p, &st) ||
	    !skip_spaces(&p) || !scan_dec(&p, &ino))
		return false;
	if (*p != ' ' && *p != '\0')
		return false;

	memset(&si, 0, sizeof(si));
	si.ino = ino;
	si.proto = PROTO_UNIX;
	if (flags & UNIX_FLAG_ACCEPTCON)
		si.state = ST_LISTEN;
	else if (st == UNIX_SS_CONNECTED)
		si.state = ST_ESTABLISHED;
	else
		si.state = ST_CLOSE;
	if (*p == ' ')
		snprintf(si.local, sizeof(si.local), "%s", p + 1);
	c->sink(&si, c->arg);
	return true;
}

int netparse_proc_unix(const char *text, netparse_sink sink, void *arg)
{
	struct unix_ctx c = { sink, arg };

	if (strncmp(text, "Num ", 4) != 0 || !header_has(text, "Inode"))
		return -EINVAL;
	return for_each_line(text, unix_line, &c);
}

/* Walks one buffer of netlink messages, handing each SOCK_DIAG_BY_FAMILY
 * payload (already checked to lie inside the buffer) to fn.  Every length
 * is checked before use because the buffer may be cut or corrupt. */
typedef int (*diag_fn)(const unsigned char *payload, size_t plen, void *ctx);

static int diag_walk(const void *buf, size_t len, diag_fn fn, void *ctx, int *done)
{
	const unsigned char *p = buf;
	bool interrupted = false;
	int n = 0;

	*done = 0;
	while (len > 0) {
		struct nlmsghdr h;
		int rc;

		if (len < sizeof(h))
			return -EBADMSG;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return -EBADMSG;
		const unsigned char *payload = p + NLMSG_HDRLEN;
		size_t plen = h.nlmsg_len - NLMSG_HDRLEN;

		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			interrupted = true;
		switch (h.nlmsg_type) {
		case NLMSG_DONE:
			*done = 1;
			/* Since 4.x the kernel reports a failed dump here. */
			if (plen >= sizeof(int)) {
				int err;
				memcpy(&err, payload, sizeof(err));
				if (err < 0)
					return err;
			}
			return interrupted ? -EINTR : n;
		case NLMSG_ERROR:
			if (plen < sizeof(rc))
				return -EBADMSG;
			memcpy(&rc, payload, sizeof(rc));
			*done = 1;
			/* error 0 is an acknowledgement: it ends the exchange too */
			return rc < 0 ? rc : n;
		case SOCK_DIAG_BY_FAMILY:
			rc = fn(payload, plen, ctx);
			if (rc < 0)
				return rc;
			n += rc;
			break;
		default:
			break;
		}
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return interrupted ? -EINTR : n;
}

struct inet_diag_ctx {
	enum sock_proto proto;
	netparse_sink sink;
	void *arg;
};

static int inet_diag_one(const unsigned char *payload, size_t plen, void *ctx)
{
	struct inet_diag_ctx *c = ctx;
	struct inet_diag_msg m;
	struct sock_info si;

	if (plen < sizeof(m))
		return -EBADMSG;
	memcpy(&m, payload, sizeof(m));
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return 0;

	memset(&si, 0, sizeof(si));
	si.ino = m.idiag_inode;
	si.proto = c->proto;
	si.state = m.idiag_state;
	si.rqueue = m.idiag_rqueue;
	si.wqueue = m.idiag_wqueue;
	netparse_format_inet(m.idiag_family, m.id.idiag_src, ntohs(m.id.idiag_sport),
			     si.local, sizeof(si.local));
	format_peer(m.idiag_family, m.id.idiag_dst, ntohs(m.id.idiag_dport),
		    si.remote, sizeof(si.remote));
	c->sink(&si, c->arg);
	return 1;
}

int netparse_diag_inet(const void *buf, size_t len, enum sock_proto proto,
		       netparse_sink sink, void *arg, int *done)
{
	struct inet_diag_ctx c = { proto, sink, arg };

	return diag_walk(buf, len, inet_diag_one, &c, done);
}

/* sun_path bytes as ss and /proc/net/unix show them: an abstract name (first
 * byte NUL) gets a leading '@' and its inner NULs shown as '@'; a path ends
 * at its first NUL. */
static void format_unix_name(const unsigned char *name, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	if (len > 0 && name[0] == '\0') {
		for (size_t i = 0; i < len && o + 1 < outsz; i++)
			out[o++] = name[i] ? (char)name[i] : '@';
	} else {
		for (size_t i = 0; i < len && name[i] && o + 1 < outsz; i++)
			out[o++] = (char)name[i];
	}
	out[o] = '\0';
}

static int unix_diag_one(const unsigned char *payload, size_t plen, void *ctx)
{
	struct unix_ctx *c = ctx;
	struct unix_diag_msg m;
	struct sock_info si;
	size_t off = NLMSG_ALIGN(sizeof(m));

	if (plen < sizeof(m))
		return -EBADMSG;
	memcpy(&m, payload, sizeof(m));

	memset(&si, 0, sizeof(si));
	si.ino = m.udiag_ino;
	si.proto = PROTO_UNIX;
	si.state = m.udiag_state;
	while (off < plen) {
		struct rtattr rta;
		size_t left = plen - off;

		if (left < sizeof(rta))
			return -EBADMSG;
		memcpy(&rta, payload + off, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > left)
			return -EBADMSG;
		const unsigned char *data = payload + off + RTA_LENGTH(0);
		size_t dlen = rta.rta_len - RTA_LENGTH(0);
		uint32_t v[2];

		switch (rta.rta_type) {
		case UNIX_DIAG_NAME:
			format_unix_name(data, dlen, si.local, sizeof(si.local));
			break;
		case UNIX_DIAG_PEER:
			if (dlen >= sizeof(v[0])) {
				memcpy(v, data, sizeof(v[0]));
				snprintf(si.remote, sizeof(si.remote), "peer ino %u", v[0]);
			}
			break;
		case UNIX_DIAG_RQLEN:
			if (dlen >= sizeof(v)) {
				memcpy(v, data, sizeof(v));
				si.rqueue = v[0];
				si.wqueue = v[1];
			}
			break;
		default:
			break;
		}
		off += RTA_ALIGN(rta.rta_len);
	}
	c->sink(&si, c->arg);
	return 1;
}

int netparse_diag_unix(const void *buf, size_t len, netparse_sink sink, void *arg, int *done)
{
	struct unix_ctx c = { sink, arg };

	return diag_walk(buf, len, unix_diag_one, &c, done);
}
