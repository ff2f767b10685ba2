/* goread_dump — a development driver for plugins/go/goread: prints what
 * goread reads from a running Go process, and what it cost.
 *
 *     goread_dump PID [SAMPLES]
 *
 * Not part of pscope or its tests (the plugin is goread's user); built by
 * hand to measure goread's cost outside pscope:
 *     cc -std=c17 -D_GNU_SOURCE -O2 -o goread_dump tests/go/goread_dump.c
 *        plugins/go/{goread,goelf,gostrip,buildinfo_parse,pclntab_parse}.c
 *        -ldw -lelf */
#include "../../plugins/go/goread.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static ssize_t dump_read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = *(pid_t *)ctx;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

/* PIE bias: AT_PHDR from auxv minus the link-time address of the phdrs. */
static uint64_t dump_bias(pid_t pid, const char *exe)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	FILE *f = fopen(path, "rb");
	uint64_t av[2], phdr = 0;
	while (f && fread(av, sizeof(av), 1, f) == 1)
		if (av[0] == AT_PHDR)
			phdr = av[1];
	if (f)
		fclose(f);
	int fd = open(exe, O_RDONLY);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	uint64_t bias = 0;
	if (e && gelf_getehdr(e, &eh) && eh.e_type == ET_DYN) {
		for (size_t i = 0; i < eh.e_phnum; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0) {
				bias = phdr - (ph.p_vaddr + eh.e_phoff);
				break;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return bias;
}

static double dump_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: goread_dump PID [SAMPLES]\n");
		return 2;
	}
	pid_t pid = atoi(argv[1]);
	int samples = argc > 2 ? atoi(argv[2]) : 1;
	char exe[64], err[256];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct goread *g;
	int rc = goread_open(exe, dump_bias(pid, exe), dump_read_mem, &pid, &g, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc) {
		printf("{\"error\": \"%s\", \"rc\": %d}\n", err, rc);
		return 1;
	}
	const struct goread_buildinfo *bi = goread_buildinfo(g);
	printf("{\"version\": \"%s\", \"path\": \"%s\", \"mod\": \"%s\", \"stripped\": %s, "
	       "\"why\": \"%s\", \"open_ms\": %.3f}\n", bi->version, bi->path, bi->mod,
	       goread_stripped(g) ? "true" : "false", goread_why(g), dump_ms(&t0, &t1));
	for (int s = 0; s < samples; s++) {
		struct goread_snapshot snap;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = goread_sample(g, &snap, err, sizeof(err));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc) {
			printf("{\"error\": \"%s\"}\n", err);
			continue;
		}
		printf("{\"sample_ms\": %.3f, \"goroutines\": %llu, \"system\": %llu, "
		       "\"unwind_failures\": %u, \"why\": \"%s\"", dump_ms(&t0, &t1),
		       (unsigned long long)snap.goroutines, (unsigned long long)snap.system_goroutines,
		       snap.unwind_failures, snap.why);
		if (snap.have_gc)
			printf(", \"gc_count\": %llu, \"heap_live\": %llu, \"heap_inuse\": %llu, "
			       "\"heap_alloc\": %llu, \"total_alloc\": %llu",
			       (unsigned long long)snap.gc_count, (unsigned long long)snap.heap_live,
			       (unsigned long long)snap.heap_inuse, (unsigned long long)snap.heap_alloc,
			       (unsigned long long)snap.total_alloc);
		if (snap.have_next_gc)
			printf(", \"next_gc\": %llu", (unsigned long long)snap.next_gc);
		printf(", \"by_wait_reason\": {");
		for (size_t i = 0; i < snap.nreasons; i++)
			printf("%s\"%s\": %u", i ? ", " : "", snap.reasons[i].reason,
			       snap.reasons[i].count);
		printf("}, \"groups\": [");
		for (size_t i = 0; i < snap.ngroups; i++)
			printf("%s\n  {\"state\": \"%s\", \"func\": \"%s\", \"creator\": \"%s\", "
			       "\"count\": %u}", i ? "," : "", snap.groups[i].state,
			       snap.groups[i].func, snap.groups[i].creator, snap.groups[i].count);
		printf("]}\n");
		goread_snapshot_free(&snap);
	}
	goread_close(g);
	return 0;
}
