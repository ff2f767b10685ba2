/* options.h — the command line, parsed into a struct without side effects
 * (no exits, no printing) so it can be tested; main() reports errors. */
#ifndef PSCOPE_OPTIONS_H
#define PSCOPE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct options {
	bool batch, json, help, version, maps;
	bool brief;            /* batch: counts and rates only, no per-item lists */
	bool stacks;           /* capture native stacks with every sample */
	bool stack_dump;       /* -s: batch, stacks and nothing else, once by default */
	bool consistent;       /* stacks: stop all threads first (a true snapshot) */
	bool no_ptrace;        /* never stop the target: no stacks at all */
	bool debuginfod;       /* stacks may fetch missing debug info over the network */
	long count;            /* samples per target; 0 = until they exit */
	double delay;          /* seconds between samples */
	double window_s;       /* growth window */
	double history_s;      /* history kept */
	int full_every;        /* fd table + sockets rescan period, in samples */
	int maps_every;        /* smaps period with --maps */
	pid_t *pids;           /* from -p and numeric arguments, in order */
	size_t npids;
	char **names;          /* other arguments: exact process names */
	size_t nnames;
	char **plugin_dirs;    /* --plugin-dir, in order (argv strings) */
	size_t nplugin_dirs;
	bool no_plugins, list_plugins;
	/* The interactive UI. */
	const char *config;    /* -c FILE; NULL: the default path */
	bool ascii, no_color;
	bool delay_set, history_set;   /* given on the command line: beat the config */
};

/* Returns 0, or -1 with a one-line message in err (a usage error). */
int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
void options_free(struct options *o);

/* The --help text. */
extern const char options_usage[];

#endif
