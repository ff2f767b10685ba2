#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char options_usage[] =
	"usage: pscope [options] [PID|NAME]...\n"
	"Inspect live processes: threads, memory, file descriptors and sockets over time.\n"
	"Without -b, an interactive UI; without a process, a picker lists them all.\n"
	"\n"
	"  -p, --pid PID[,PID...]  attach to these processes (repeatable)\n"
	"  -b, --batch             print samples to stdout instead of the UI\n"
	"  -n, --count N           exit after N samples of each process\n"
	"  -d, --delay SECS        seconds between samples, fractions allowed (default 1)\n"
	"  -j, --json              batch output as JSON lines, one per process per sample\n"
	"      --brief             batch: counts, sizes and rates only, no thread/fd/socket lists\n"
	"      --window SECS       window for growth rates (default 60)\n"
	"      --history SECS      history kept in memory (default 3600)\n"
	"      --full-every N      rescan fds and sockets at least every N samples (default 5)\n"
	"      --maps              include the per-mapping table (smaps)\n"
	"      --maps-every N      refresh it every N samples (default 10)\n"
	"      --stacks            add the native stack of every thread (stops each thread\n"
	"                          for tens of microseconds); with -n 1, one grouped dump\n"
	"  -s, --stack-dump        print one grouped dump of every thread's native stack\n"
	"                          and exit, like eu-stack; only the stacks are sampled\n"
	"      --consistent        stacks: stop all threads together for a true snapshot\n"
	"                          (freezes the whole process meanwhile, a few ms per 100 threads)\n"
	"      --no-ptrace         never stop or trace the target (no stacks)\n"
	"      --debuginfod        stacks: fetch debug info missing here from the servers\n"
	"                          in DEBUGINFOD_URLS (can take seconds per file)\n"
	"      --plugin-dir DIR    look for plugins in DIR first (repeatable)\n"
	"      --no-plugins        load no plugins\n"
	"      --list-plugins      show the plugins found, accepted or refused and why\n"
	"  -c, --config FILE       read UI settings from FILE (default\n"
	"                          $XDG_CONFIG_HOME/pscope/config)\n"
	"      --ascii             draw graphs and marks with ASCII only\n"
	"      --no-color          no colours (also when NO_COLOR is set)\n"
	"  -h, --help              show this help\n"
	"  -V, --version           show the version\n"
	"\n"
	"NAME matches a process's name (comm) or the basename of its argv[0].\n"
	"Exit status: 0 complete, 1 partial, 2 nothing sampled, 64 usage error.\n";

enum {
	OPT_WINDOW = 256, OPT_HISTORY, OPT_FULL_EVERY, OPT_MAPS, OPT_MAPS_EVERY, OPT_BRIEF,
	OPT_PLUGIN_DIR, OPT_NO_PLUGINS, OPT_LIST_PLUGINS, OPT_ASCII, OPT_NO_COLOR,
	OPT_STACKS, OPT_CONSISTENT, OPT_NO_PTRACE, OPT_DEBUGINFOD
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "batch", no_argument, NULL, 'b' },
	{ "count", required_argument, NULL, 'n' },
	{ "delay", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "full-every", required_argument, NULL, OPT_FULL_EVERY },
	{ "maps", no_argument, NULL, OPT_MAPS },
	{ "maps-every", required_argument, NULL, OPT_MAPS_EVERY },
	{ "brief", no_argument, NULL, OPT_BRIEF },
	{ "stacks", no_argument, NULL, OPT_STACKS },
	{ "stack-dump", no_argument, NULL, 's' },
	{ "consistent", no_argument, NULL, OPT_CONSISTENT },
	{ "no-ptrace", no_argument, NULL, OPT_NO_PTRACE },
	{ "debuginfod", no_argument, NULL, OPT_DEBUGINFOD },
	{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
	{ "no-plugins", no_argument, NULL, OPT_NO_PLUGINS },
	{ "list-plugins", no_argument, NULL, OPT_LIST_PLUGINS },
	{ "config", required_argument, NULL, 'c' },
	{ "ascii", no_argument, NULL, OPT_ASCII },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "no-colour", no_argument, NULL, OPT_NO_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static bool parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void add_pid(struct options *o, pid_t pid)
{
	o->pids = xrealloc(o->pids, (o->npids + 1) * sizeof(pid_t));
	o->pids[o->npids++] = pid;
}

static bool parse_pid_list(struct options *o, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	bool ok = true;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long pid;
		if (!parse_long(tok, 1, INT_MAX, &pid)) {
			ok = false;
			break;
		}
		add_pid(o, (pid_t)pid);
	}
	free(copy);
	return ok && o->npids > 0;
}

int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	long n;
	int c;

	memset(o, 0, sizeof(*o));
	o->delay = 1;
	o->window_s = 60;
	o->history_s = 3600;
	o->full_every = 5;
	o->maps_every = 10;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:bn:d:jhVc:s", long_options, NULL)) != -1) {
		const char *bad = NULL;
		switch (c) {
		case 'p':
			if (!parse_pid_list(o, optarg))
				bad = "-p wants PID[,PID...] with positive numbers";
			break;
		case 'b': o->batch = true; break;
		case 'j': o->json = true; break;
		case 'h': o->help = true; break;
		case 'V': o->version = true; break;
		case OPT_MAPS: o->maps = true; break;
		case OPT_BRIEF: o->brief = true; break;
		case OPT_STACKS: o->stacks = true; break;
		case 's': o->stack_dump = true; break;
		case OPT_CONSISTENT: o->consistent = true; break;
		case OPT_NO_PTRACE: o->no_ptrace = true; break;
		case OPT_DEBUGINFOD: o->debuginfod = true; break;
		case OPT_NO_PLUGINS: o->no_plugins = true; break;
		case OPT_ASCII: o->ascii = true; break;
		case OPT_NO_COLOR: o->no_color = true; break;
		case 'c': o->config = optarg; break;
		case OPT_LIST_PLUGINS: o->list_plugins = true; break;
		case OPT_PLUGIN_DIR:
			if (!*optarg) {
				bad = "--plugin-dir wants a directory";
				break;
			}
			o->plugin_dirs = xrealloc(o->plugin_dirs,
						  (o->nplugin_dirs + 1) * sizeof(char *));
			o->plugin_dirs[o->nplugin_dirs++] = optarg;
			break;
		case 'n':
			if (!parse_long(optarg, 1, LONG_MAX, &o->count))
				bad = "-n wants a positive number of samples";
			break;
		case 'd':
			if (!parse_seconds(optarg, 0.01, 86400, &o->delay))
				bad = "-d wants seconds between 0.01 and 86400";
			o->delay_set = true;
			break;
		case OPT_WINDOW:
			if (!parse_seconds(optarg, 0.01, 86400 * 7, &o->window_s))
				bad = "--window wants a positive number of seconds";
			break;
		case OPT_HISTORY:
			if (!parse_seconds(optarg, 1, 86400 * 7, &o->history_s))
				bad = "--history wants seconds between 1 and 604800";
			o->history_set = true;
			break;
		case OPT_FULL_EVERY:
			if (!parse_long(optarg, 1, 1000000, &n))
				bad = "--full-every wants a positive number of samples";
			o->full_every = (int)n;
			break;
		case OPT_MAPS_EVERY:
			if (!parse_long(optarg, 1, 1000000, &n))
				bad = "--maps-every wants a positive number of samples";
			o->maps_every = (int)n;
			break;
		case ':':
			if (optopt && optopt < 256)
				snprintf(err, errlen, "option -%c needs a value", optopt);
			else
				snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
			return -1;
		default:
			if (optopt && optopt < 256)
				snprintf(err, errlen, "unknown option -%c", optopt);
			else
				snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
			return -1;
		}
		if (bad) {
			snprintf(err, errlen, "%s (got '%s')", bad, optarg);
			return -1;
		}
	}
	if ((o->stacks || o->stack_dump) && o->no_ptrace) {
		snprintf(err, errlen, "%s needs ptrace, which --no-ptrace forbids",
			 o->stack_dump ? "--stack-dump" : "--stacks");
		return -1;
	}
	if (o->stack_dump) {
		/* The rest of the sample is left out, plugins included. */
		o->batch = o->stacks = o->no_plugins = true;
		if (!o->count)
			o->count = 1;
	}
	for (int i = optind; i < argc; i++) {
		long pid;
		if (parse_long(argv[i], 1, INT_MAX, &pid)) {
			add_pid(o, (pid_t)pid);
		} else if (!*argv[i]) {
			snprintf(err, errlen, "empty process name");
			return -1;
		} else {
			o->names = xrealloc(o->names, (o->nnames + 1) * sizeof(char *));
			o->names[o->nnames++] = argv[i];
		}
	}
	return 0;
}

void options_free(struct options *o)
{
	free(o->pids);
	free(o->names);
	free(o->plugin_dirs);
	memset(o, 0, sizeof(*o));
}
