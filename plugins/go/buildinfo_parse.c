/* buildinfo_parse.c — the .go.buildinfo blob: Go version and main module.
 *
 * Layout (as debug/buildinfo reads it): a 32-byte header, the magic
 * "\xff Go buildinf:", then the pointer size and a flags byte.  With flag
 * bit 2 (Go >= 1.18) two uvarint-prefixed strings follow the header: the
 * version and the module info.  Before 1.18, header+16 and
 * header+16+ptrsize are pointers to Go string headers in memory. */
#include "goread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAG_BIG_ENDIAN 0x1
#define FLAG_VERSION_INLINE 0x2
/* Longest module info accepted: a real one lists every dependency, but a
 * length beyond this is a corrupt blob, not a program. */
#define MODINFO_MAX (1u << 20)

/* A uvarint at *p (< end); advances *p.  false when cut or too long. */
static bool buildinfo_read_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static uint64_t buildinfo_read_ptr(const uint8_t *p, unsigned size, bool big)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned byte = big ? i : size - 1 - i;
		v = v << 8 | p[byte];
	}
	return v;
}

/* Reads the Go string whose header is at addr into a malloc'd buffer. */
static uint8_t *buildinfo_read_gostring(goread_read_fn read_mem, void *ctx, uint64_t addr,
					unsigned ptrsize, bool big, size_t *len)
{
	uint8_t hdr[16];
	if (!read_mem || read_mem(ctx, addr, hdr, 2 * ptrsize) != (ssize_t)(2 * ptrsize))
		return NULL;
	uint64_t data = buildinfo_read_ptr(hdr, ptrsize, big);
	uint64_t n = buildinfo_read_ptr(hdr + ptrsize, ptrsize, big);
	if (n > MODINFO_MAX)
		return NULL;
	uint8_t *buf = malloc(n + 1);
	if (!buf)
		return NULL;
	if (n && read_mem(ctx, data, buf, n) != (ssize_t)n) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Copies the value of the line "<key>\t<value>..." (up to the next tab or
 * newline) from modinfo into out. */
static void buildinfo_find_line(const uint8_t *mod, size_t len, const char *key,
				char *out, size_t outlen)
{
	size_t klen = strlen(key);
	out[0] = 0;
	for (size_t i = 0; i < len;) {
		size_t eol = i;
		while (eol < len && mod[eol] != '\n')
			eol++;
		if (eol - i > klen && memcmp(mod + i, key, klen) == 0 && mod[i + klen] == '\t') {
			size_t s = i + klen + 1, e = s;
			while (e < eol && mod[e] != '\t')
				e++;
			size_t n = e - s < outlen - 1 ? e - s : outlen - 1;
			memcpy(out, mod + s, n);
			out[n] = 0;
			return;
		}
		i = eol + 1;
	}
}

/* The version string must look like one: printable, no spaces. */
static bool buildinfo_copy_version(const uint8_t *s, size_t n, struct goread_buildinfo *out)
{
	if (n == 0 || n >= sizeof(out->version))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	memcpy(out->version, s, n);
	out->version[n] = 0;
	return true;
}

/* Module info is framed by 16-byte sentinels; strip them as debug/buildinfo
 * does, and keep "" when they are not there (a build outside a module). */
static void buildinfo_fill_module(const uint8_t *mod, size_t len, struct goread_buildinfo *out)
{
	if (len >= 33 && mod[len - 17] == '\n') {
		buildinfo_find_line(mod + 16, len - 32, "path", out->path, sizeof(out->path));
		buildinfo_find_line(mod + 16, len - 32, "mod", out->mod, sizeof(out->mod));
	}
}

bool goread_parse_version(const char *version, int *major, int *minor)
{
	int ma, mi, n = 0;
	if (strncmp(version, "go", 2) != 0 || sscanf(version + 2, "%d.%d%n", &ma, &mi, &n) != 2)
		return false;
	*major = ma;
	*minor = mi;
	return true;
}

int goread_parse_buildinfo(const uint8_t *blob, size_t len, goread_read_fn read_mem,
			   void *ctx, struct goread_buildinfo *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < GOREAD_BUILDINFO_HDR ||
	    memcmp(blob, GOREAD_BUILDINFO_MAGIC, GOREAD_BUILDINFO_MAGIC_LEN) != 0) {
		snprintf(err, errlen, "no Go build info magic");
		return -1;
	}
	unsigned ptrsize = blob[14];
	uint8_t flags = blob[15];
	bool big = flags & FLAG_BIG_ENDIAN;

	if (flags & FLAG_VERSION_INLINE) {
		const uint8_t *p = blob + GOREAD_BUILDINFO_HDR, *end = blob + len;
		uint64_t vlen, mlen;
		if (!buildinfo_read_uvarint(&p, end, &vlen) || vlen > (uint64_t)(end - p)) {
			snprintf(err, errlen, "build info version string is cut short");
			return -1;
		}
		if (!buildinfo_copy_version(p, vlen, out)) {
			snprintf(err, errlen, "build info version is not a version string");
			return -1;
		}
		p += vlen;
		/* A blob cut after the version still names the version. */
		if (buildinfo_read_uvarint(&p, end, &mlen) && mlen <= (uint64_t)(end - p))
			buildinfo_fill_module(p, mlen, out);
	} else {
		if (ptrsize != 4 && ptrsize != 8) {
			snprintf(err, errlen, "build info pointer size %u is not 4 or 8", ptrsize);
			return -1;
		}
		if (len < 16 + 2 * (size_t)ptrsize) {
			snprintf(err, errlen, "build info header is cut short");
			return -1;
		}
		uint64_t vaddr = buildinfo_read_ptr(blob + 16, ptrsize, big);
		uint64_t maddr = buildinfo_read_ptr(blob + 16 + ptrsize, ptrsize, big);
		size_t vlen = 0, mlen = 0;
		uint8_t *v = buildinfo_read_gostring(read_mem, ctx, vaddr, ptrsize, big, &vlen);
		if (!v || !buildinfo_copy_version(v, vlen, out)) {
			free(v);
			snprintf(err, errlen, "build info version pointer 0x%llx is unreadable",
				 (unsigned long long)vaddr);
			return -1;
		}
		free(v);
		uint8_t *m = buildinfo_read_gostring(read_mem, ctx, maddr, ptrsize, big, &mlen);
		if (m)
			buildinfo_fill_module(m, mlen, out);
		free(m);
	}
	if (!goread_parse_version(out->version, &out->major, &out->minor))
		out->major = out->minor = 0;
	return 0;
}
