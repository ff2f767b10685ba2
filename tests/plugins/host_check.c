/* host_check — exercises the helpers pscope lends to plugins on a real
 * target and reports each check as a metric, 1 for right and 0 for wrong:
 *   main_matches        elf_symbol("main") (load bias applied) points at
 *                       memory holding the same bytes as .text in the file
 *   main_executable     that address lies in an executable mapping
 *   unmapped_efault     reading page 0 fails with -EFAULT
 *   partial_read        a read running off the end of a mapping into a gap
 *                       returns exactly the bytes up to the end
 * The integration suite (suite_plugins.py) checks they all read 1. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pscope_plugin.h"

enum { M_MAIN_MATCHES, M_MAIN_EXECUTABLE, M_UNMAPPED_EFAULT, M_PARTIAL_READ, M_COUNT };

static const struct pscope_metric_desc metrics[M_COUNT] = {
	{ "main_matches", "", "main's bytes in memory equal those in the file" },
	{ "main_executable", "", "main lies in an executable mapping" },
	{ "unmapped_efault", "", "reading page 0 fails with EFAULT" },
	{ "partial_read", "", "a read past a mapping's end stops at the end" },
};

static int check_probe(const struct pscope_host *h, const struct pscope_target *t, char *reason,
		       size_t len)
{
	(void)h, (void)t, (void)reason, (void)len;
	return 1;
}

static double main_matches(const struct pscope_host *h, const struct pscope_target *t,
			   uint64_t *main_addr)
{
	uint64_t addr, size, text_addr;
	const void *text;
	size_t text_len;
	unsigned char mem[16];

	if (h->elf_symbol(t, "main", &addr, &size) < 0 ||
	    h->elf_section(t, ".text", &text, &text_len, &text_addr) < 0 || !text_addr ||
	    addr < text_addr || addr + sizeof(mem) > text_addr + text_len ||
	    h->read_mem(t, addr, mem, sizeof(mem)) != (ssize_t)sizeof(mem))
		return 0;
	*main_addr = addr;
	return memcmp(mem, (const char *)text + (addr - text_addr), sizeof(mem)) == 0;
}

static int check_sample(void *state, const struct pscope_host *h, const struct pscope_target *t,
			struct pscope_plugin_out *out)
{
	const struct pscope_mapping *maps;
	size_t n;
	uint64_t main_addr = 0;
	char buf[64];

	(void)state;
	out->values[M_MAIN_MATCHES] = main_matches(h, t, &main_addr);
	if (h->mappings(t, &maps, &n) < 0)
		return -EIO;
	out->values[M_MAIN_EXECUTABLE] = 0;
	for (size_t i = 0; i < n; i++)
		if (main_addr >= maps[i].start && main_addr < maps[i].end && maps[i].perms[2] == 'x')
			out->values[M_MAIN_EXECUTABLE] = 1;
	out->values[M_UNMAPPED_EFAULT] = h->read_mem(t, 0, buf, sizeof(buf)) == -EFAULT;
	/* A readable mapping with nothing right after it. */
	for (size_t i = 0; i < n; i++) {
		if (maps[i].perms[0] != 'r' || (i + 1 < n && maps[i + 1].start == maps[i].end))
			continue;
		ssize_t got = h->read_mem(t, maps[i].end - 24, buf, sizeof(buf));
		out->values[M_PARTIAL_READ] = got == 24;
		break;
	}
	return 0;
}

PSCOPE_PLUGIN_EXPORT const struct pscope_plugin pscope_plugin = {
	.abi_version = PSCOPE_PLUGIN_ABI_VERSION,
	.name = "host_check",
	.version = "1",
	.description = "checks the plugin host's helpers (tests only)",
	.metrics = metrics,
	.nmetrics = M_COUNT,
	.probe = check_probe,
	.sample = check_sample,
};
