/* Socket table parsers on captures from a real machine (tests/fixtures/net:
 * a loopback TCP listener on 127.0.0.1:47011 and [::1]:47012 with one
 * connection each, UDP on 127.0.0.1:47013 and [::1]:47014, a raw ICMP socket,
 * a unix listener on /tmp/pscope-fixture.sock with one connection, an abstract
 * datagram socket "\0pscope\0fix" and socketpairs), and on cut or corrupt
 * copies of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netparse.h"
#include "util.h"

#define NET FIXTURES "/net/"

struct got {
	size_t n;
	struct sock_info s[64];
};

static void collect(const struct sock_info *si, void *arg)
{
	struct got *g = arg;

	assert_true(g->n < sizeof(g->s) / sizeof(g->s[0]));
	g->s[g->n++] = *si;
}

static const struct sock_info *find(const struct got *g, uint64_t ino)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->s[i].ino == ino)
			return &g->s[i];
	return NULL;
}

/* Exactly len bytes on the heap (plus a NUL for text), so that ASan catches
 * a parser reading past the end. */
static char *load(const char *name, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = util_read_at(-1, name, &buf, &cap);

	assert_true(n >= 0);
	char *exact = xmalloc((size_t)n + 1);
	memcpy(exact, buf, (size_t)n + 1);
	free(buf);
	*len = (size_t)n;
	return exact;
}

static void assert_sock(const struct got *g, uint64_t ino, enum sock_proto proto, int state,
			const char *local, const char *remote)
{
	const struct sock_info *si = find(g, ino);

	assert_non_null(si);
	assert_int_equal(si->proto, proto);
	assert_int_equal(si->state, state);
	assert_string_equal(si->local, local);
	assert_string_equal(si->remote, remote);
}

static void test_proc_tcp(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	char *text = load(NET "tcp", &len);

	/* 12 lines: 2 listeners, one connection's two ends, 8 TIME_WAIT */
	assert_int_equal(netparse_proc_inet(text, PROTO_TCP, collect, &g), 12);
	assert_sock(&g, 9365, PROTO_TCP, 10, "127.0.0.1:47011", "");
	assert_sock(&g, 1234, PROTO_TCP, 10, "0.0.0.0:2024", "");
	assert_sock(&g, 9367, PROTO_TCP, 1, "127.0.0.1:47011", "127.0.0.1:59722");
	assert_sock(&g, 9366, PROTO_TCP, 1, "127.0.0.1:59722", "127.0.0.1:47011");
	assert_int_equal(find(&g, 9367)->rqueue, 5);
	assert_int_equal(find(&g, 9367)->wqueue, 0);
	/* TIME_WAIT has no inode */
	assert_sock(&g, 0, PROTO_TCP, 6, "127.0.0.1:41921", "127.0.0.1:33172");
	free(text);
}

static void test_proc_tcp6_udp_raw(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	char *t6 = load(NET "tcp6", &len), *u = load(NET "udp", &len);
	char *u6 = load(NET "udp6", &len), *raw = load(NET "raw", &len);

	assert_int_equal(netparse_proc_inet(t6, PROTO_TCP6, collect, &g), 3);
	assert_int_equal(netparse_proc_inet(u, PROTO_UDP, collect, &g), 1);
	assert_int_equal(netparse_proc_inet(u6, PROTO_UDP6, collect, &g), 1);
	assert_int_equal(netparse_proc_inet(raw, PROTO_RAW, collect, &g), 1);
	assert_sock(&g, 9368, PROTO_TCP6, 10, "[::1]:47012", "");
	assert_sock(&g, 9370, PROTO_TCP6, 1, "[::1]:47012", "[::1]:53180");
	assert_sock(&g, 9371, PROTO_UDP, 7, "127.0.0.1:47013", "");
	assert_sock(&g, 9372, PROTO_UDP6, 7, "[::1]:47014", "");
	/* raw sockets show the IP protocol as their port */
	assert_sock(&g, 9373, PROTO_RAW, 7, "0.0.0.0:1", "");
	free(t6);
	free(u);
	free(u6);
	free(raw);
}

static void test_proc_unix(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	char *text = load(NET "unix", &len);

	assert_int_equal(netparse_proc_unix(text, collect, &g), 8);
	assert_sock(&g, 9374, PROTO_UNIX, 10, "/tmp/pscope-fixture.sock", "");
	assert_sock(&g, 9376, PROTO_UNIX, 1, "/tmp/pscope-fixture.sock", "");
	assert_sock(&g, 9375, PROTO_UNIX, 1, "", "");
	assert_sock(&g, 9377, PROTO_UNIX, 7, "@pscope@fix", "");
	free(text);
}

static void test_proc_cut_and_garbled(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	char *tcp = load(NET "tcp_cut", &len), *unx = load(NET "unix_cut", &len);

	/* the file ends inside the inode of 9366: that line is not trusted */
	assert_int_equal(netparse_proc_inet(tcp, PROTO_TCP, collect, &g), 8);
	assert_null(find(&g, 9366));
	assert_null(find(&g, 93));
	g.n = 0;
	assert_int_equal(netparse_proc_unix(unx, collect, &g), 7);
	assert_null(find(&g, 9377));
	free(tcp);
	free(unx);

	g.n = 0;
	const char *mixed =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1\n"
		"garbage\n"
		"   1: 0100007G:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 78 1\n"
		"   2: 0100007F:10000 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 79 1\n"
		"   3: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000\n"
		"\n"
		"   4: 0100007F:0051 0200007F:0052 01 00000001:00000002 00:00000000 00000000     0        0 80 1\n";
	assert_int_equal(netparse_proc_inet(mixed, PROTO_TCP, collect, &g), 2);
	assert_sock(&g, 77, PROTO_TCP, 10, "127.0.0.1:80", "");
	assert_sock(&g, 80, PROTO_TCP, 1, "127.0.0.1:81", "127.0.0.2:82");
	assert_int_equal(find(&g, 80)->wqueue, 1);
	assert_int_equal(find(&g, 80)->rqueue, 2);

	assert_int_equal(netparse_proc_inet("", PROTO_TCP, collect, &g), -EINVAL);
	assert_int_equal(netparse_proc_inet("Num RefCount\n", PROTO_TCP, collect, &g), -EINVAL);
	assert_int_equal(netparse_proc_inet(mixed, PROTO_UNIX, collect, &g), -EINVAL);
	assert_int_equal(netparse_proc_unix(mixed, collect, &g), -EINVAL);
	assert_int_equal(netparse_proc_unix("", collect, &g), -EINVAL);
}

/* Every prefix of a real file parses without reading past its end. */
static void test_proc_every_prefix(void **state)
{
	(void)state;
	const char *names[] = { NET "tcp", NET "tcp6", NET "unix" };

	for (size_t f = 0; f < 3; f++) {
		size_t len;
		char *text = load(names[f], &len);
		for (size_t cut = 0; cut <= len; cut++) {
			struct got g = { 0 };
			char *p = xstrndup(text, cut);
			int rc = f == 2 ? netparse_proc_unix(p, collect, &g)
					: netparse_proc_inet(p, f ? PROTO_TCP6 : PROTO_TCP, collect, &g);
			assert_true(rc == -EINVAL || (rc >= 0 && (size_t)rc == g.n));
			free(p);
		}
		free(text);
	}
}

/* The netlink capture was taken a moment after the /proc one, from the same
 * sockets: both must describe every socket the same way. */
static void assert_diag_matches_proc(const char *diag, const char *proc, enum sock_proto proto,
				     int expect)
{
	struct got d = { 0 }, p = { 0 };
	size_t dlen, plen;
	char *dbuf = load(diag, &dlen), *text = load(proc, &plen);
	int done = 0;

	int rc = proto == PROTO_UNIX ? netparse_diag_unix(dbuf, dlen, collect, &d, &done)
				     : netparse_diag_inet(dbuf, dlen, proto, collect, &d, &done);
	assert_int_equal(rc, expect);
	assert_int_equal(done, 1);
	if (proto == PROTO_UNIX)
		assert_true(netparse_proc_unix(text, collect, &p) > 0);
	else
		assert_true(netparse_proc_inet(text, proto, collect, &p) > 0);
	for (size_t i = 0; i < d.n; i++) {
		const struct sock_info *q = find(&p, d.s[i].ino);
		assert_non_null(q);
		assert_int_equal(d.s[i].proto, proto);
		assert_int_equal(d.s[i].state, q->state);
		assert_string_equal(d.s[i].local, q->local);
		if (proto != PROTO_UNIX)
			assert_string_equal(d.s[i].remote, q->remote);
	}
	free(dbuf);
	free(text);
}

static void test_diag_matches_proc(void **state)
{
	(void)state;
	/* TIME_WAIT sockets are in /proc but not asked for by netlink */
	assert_diag_matches_proc(NET "diag_tcp.bin", NET "tcp", PROTO_TCP, 4);
	assert_diag_matches_proc(NET "diag_tcp6.bin", NET "tcp6", PROTO_TCP6, 3);
	assert_diag_matches_proc(NET "diag_udp.bin", NET "udp", PROTO_UDP, 1);
	assert_diag_matches_proc(NET "diag_unix.bin", NET "unix", PROTO_UNIX, 8);
}

static void test_diag_unix_attributes(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	char *buf = load(NET "diag_unix.bin", &len);
	int done = 0;

	assert_int_equal(netparse_diag_unix(buf, len, collect, &g, &done), 8);
	assert_sock(&g, 9374, PROTO_UNIX, 10, "/tmp/pscope-fixture.sock", "");
	assert_int_equal(find(&g, 9374)->wqueue, 4);   /* listen backlog */
	assert_sock(&g, 9376, PROTO_UNIX, 1, "/tmp/pscope-fixture.sock", "peer ino 9375");
	assert_int_equal(find(&g, 9376)->rqueue, 3);   /* "abc" unread */
	assert_sock(&g, 9375, PROTO_UNIX, 1, "", "peer ino 9376");
	assert_sock(&g, 9377, PROTO_UNIX, 7, "@pscope@fix", "");
	assert_sock(&g, 1231, PROTO_UNIX, 1, "", "peer ino 1230");
	free(buf);
}

static void test_diag_errors(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	int done;
	char *buf;

	buf = load(NET "diag_error.bin", &len);   /* a request for family 99 */
	done = 0;
	assert_int_equal(netparse_diag_inet(buf, len, PROTO_TCP, collect, &g, &done), -EINVAL);
	assert_int_equal(done, 1);
	free(buf);

	buf = load(NET "diag_done_enoent.bin", &len);   /* raw dump, no raw_diag */
	done = 0;
	assert_int_equal(netparse_diag_inet(buf, len, PROTO_RAW, collect, &g, &done), -ENOENT);
	assert_int_equal(done, 1);
	free(buf);

	buf = load(NET "diag_tcp_cut.bin", &len);   /* cut inside the second message */
	assert_int_equal(netparse_diag_inet(buf, len, PROTO_TCP, collect, &g, &done), -EBADMSG);
	assert_int_equal(done, 0);
	assert_int_equal(g.n, 1);
	free(buf);

	g.n = 0;
	buf = load(NET "diag_tcp_biglen.bin", &len);   /* first nlmsg_len past the end */
	assert_int_equal(netparse_diag_inet(buf, len, PROTO_TCP, collect, &g, &done), -EBADMSG);
	assert_int_equal(g.n, 0);
	free(buf);

	buf = load(NET "diag_unix_rtalen0.bin", &len);   /* would loop forever */
	assert_int_equal(netparse_diag_unix(buf, len, collect, &g, &done), -EBADMSG);
	assert_int_equal(g.n, 0);
	free(buf);

	assert_int_equal(netparse_diag_unix("", 0, collect, &g, &done), 0);
	assert_int_equal(done, 0);
}

/* A table that changed during the dump is flagged on its messages. */
static void test_diag_dump_interrupted(void **state)
{
	(void)state;
	struct got g = { 0 };
	size_t len;
	char *buf = load(NET "diag_udp.bin", &len);
	struct nlmsghdr h;
	int done = 0;

	memcpy(&h, buf, sizeof(h));
	h.nlmsg_flags |= NLM_F_DUMP_INTR;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(netparse_diag_inet(buf, len, PROTO_UDP, collect, &g, &done), -EINTR);
	assert_int_equal(done, 1);
	free(buf);
}

/* Every prefix, and every single corrupted length field, stays in bounds. */
static void test_diag_every_prefix(void **state)
{
	(void)state;
	const char *names[] = { NET "diag_tcp.bin", NET "diag_tcp6.bin", NET "diag_unix.bin" };

	for (size_t f = 0; f < 3; f++) {
		size_t len;
		char *full = load(names[f], &len);
		for (size_t cut = 0; cut <= len; cut++) {
			struct got g = { 0 };
			char *p = xmalloc(cut);
			int done = 0, rc;

			memcpy(p, full, cut);
			rc = f == 2 ? netparse_diag_unix(p, cut, collect, &g, &done)
				    : netparse_diag_inet(p, cut, f ? PROTO_TCP6 : PROTO_TCP,
							 collect, &g, &done);
			assert_true(rc == -EBADMSG || (rc >= 0 && (size_t)rc == g.n));
			assert_true(cut == len ? done == 1 : done == 0);
			free(p);
		}
		for (size_t off = 0; off + 2 <= len; off += 2) {
			struct got g = { 0 };
			char *p = xmalloc(len);
			int done = 0;

			memcpy(p, full, len);
			p[off] = 0;
			p[off + 1] = 0;
			if (f == 2)
				netparse_diag_unix(p, len, collect, &g, &done);
			else
				netparse_diag_inet(p, len, PROTO_TCP, collect, &g, &done);
			free(p);
		}
		free(full);
	}
}

static void test_format_inet(void **state)
{
	(void)state;
	char out[128];
	struct in_addr a4;
	struct in6_addr a6;

	inet_pton(AF_INET, "10.1.2.3", &a4);
	netparse_format_inet(AF_INET, &a4, 8080, out, sizeof(out));
	assert_string_equal(out, "10.1.2.3:8080");
	inet_pton(AF_INET6, "::1", &a6);
	netparse_format_inet(AF_INET6, &a6, 80, out, sizeof(out));
	assert_string_equal(out, "[::1]:80");
	inet_pton(AF_INET6, "::ffff:1.2.3.4", &a6);
	netparse_format_inet(AF_INET6, &a6, 65535, out, sizeof(out));
	assert_string_equal(out, "[::ffff:1.2.3.4]:65535");
	netparse_format_inet(AF_INET, &a4, 8080, out, 6);
	assert_string_equal(out, "10.1.");
	netparse_format_inet(AF_UNIX, &a4, 1, out, sizeof(out));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_tcp),
		cmocka_unit_test(test_proc_tcp6_udp_raw),
		cmocka_unit_test(test_proc_unix),
		cmocka_unit_test(test_proc_cut_and_garbled),
		cmocka_unit_test(test_proc_every_prefix),
		cmocka_unit_test(test_diag_matches_proc),
		cmocka_unit_test(test_diag_unix_attributes),
		cmocka_unit_test(test_diag_errors),
		cmocka_unit_test(test_diag_dump_interrupted),
		cmocka_unit_test(test_diag_every_prefix),
		cmocka_unit_test(test_format_inet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
