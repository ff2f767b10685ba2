/* plugin_host.h — the helpers pscope lends to plugins, behind struct
 * pscope_host (plugins/pscope_plugin.h).
 *
 * A struct pscope_target is the host's view of one attached process for its
 * plugins: its pid, the mapping list (re-read at most once per plugin call),
 * the executable opened once with libelf (symbols, sections and the PIE
 * load bias), and where the plugins' log lines go.  Memory is only ever
 * read, with process_vm_readv. */
#ifndef PSCOPE_PLUGIN_HOST_H
#define PSCOPE_PLUGIN_HOST_H

#include <sys/types.h>

#include "pscope_plugin.h"

/* Receives each log line of a plugin; ctx is what the last
 * plugin_host_begin_call() passed. */
typedef void plugin_log_fn(void *ctx, enum pscope_log_level level, const char *msg);

struct pscope_target *plugin_host_target_new(pid_t pid, plugin_log_fn *log);
void plugin_host_target_free(struct pscope_target *t);

/* Call before each call into a plugin: later mapping lookups read fresh
 * mappings, and log lines go to log_ctx. */
void plugin_host_begin_call(struct pscope_target *t, void *log_ctx);

/* The helper table handed to plugins. */
const struct pscope_host *plugin_host_get(void);

#endif
