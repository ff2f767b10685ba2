/* bad_abi — a plugin built for an ABI version this pscope does not speak.
 * pscope must refuse it by name, say why, and run on without it; nothing
 * past abi_version may be touched, so the rest is deliberately empty. */
#include "pscope_plugin.h"

PSCOPE_PLUGIN_EXPORT const struct pscope_plugin pscope_plugin = {
	.abi_version = PSCOPE_PLUGIN_ABI_VERSION + 1000,
	.name = "bad_abi",
};
