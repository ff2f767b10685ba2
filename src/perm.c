#include "perm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

enum { CAP_SYS_PTRACE_BIT = 19 };

bool perm_cap_bit(const char *status_text, const char *key, int bit)
{
	const char *p = status_text;
	size_t klen = strlen(key);

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			uint64_t mask = strtoull(p + klen + 1, NULL, 16);
			return (mask >> bit) & 1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool detect_container(void)
{
	char *buf = NULL;
	size_t cap = 0;
	bool found = false;

	if (file_exists("/.dockerenv") || file_exists("/run/.containerenv"))
		return true;
	const char *env = getenv("container");
	if (env && *env)
		return true;
	if (util_read_at(AT_FDCWD, "/proc/1/cgroup", &buf, &cap) > 0)
		found = strstr(buf, "docker") || strstr(buf, "kubepods") ||
			strstr(buf, "containerd") || strstr(buf, "lxc");
	free(buf);
	return found;
}

void perm_probe(struct perm_context *c)
{
	char *buf = NULL;
	size_t cap = 0;

	memset(c, 0, sizeof(*c));
	c->euid = geteuid();
	if (util_read_at(AT_FDCWD, "/proc/self/status", &buf, &cap) > 0) {
		c->cap_sys_ptrace = perm_cap_bit(buf, "CapEff", CAP_SYS_PTRACE_BIT);
		c->cap_in_bounding = perm_cap_bit(buf, "CapBnd", CAP_SYS_PTRACE_BIT);
	}
	c->ptrace_scope = -1;
	if (util_read_at(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", &buf, &cap) > 0)
		c->ptrace_scope = atoi(buf);
	c->in_container = detect_container();
	free(buf);
}

static void user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, size, "uid %u (%s)", (unsigned)uid, res->pw_name);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
}

/* The kernel hands the files under /proc/PID/ to root when the task is not
 * dumpable, while its status still shows the real uid: that difference
 * gives it away. */
static bool looks_nondumpable(pid_t pid, uid_t target_uid)
{
	char path[40];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return stat(path, &st) == 0 && st.st_uid == 0 && target_uid != 0;
}

void perm_explain(const struct perm_context *c, pid_t pid, uid_t target_uid, int err,
		  bool attach, char *buf, size_t size)
{
	char owner[96], self[96];

	if (err == -ENOENT || err == -ESRCH) {
		snprintf(buf, size, "no such process, or hidden from us (hidepid)");
		return;
	}
	if (err != -EACCES && err != -EPERM) {
		snprintf(buf, size, "%s", strerror(-err));
		return;
	}
	user_name(target_uid, owner, sizeof(owner));
	user_name(c->euid, self, sizeof(self));
	const char *container = c->in_container && !c->cap_in_bounding
		? "; this container was started without SYS_PTRACE (add it, e.g. --cap-add=SYS_PTRACE)" : "";

	if (attach && !c->cap_sys_ptrace && c->ptrace_scope >= 1) {
		static const char *const scope_rule[] = {
			"", "only a parent may attach to its descendants",
			"only CAP_SYS_PTRACE may attach", "attaching is disabled until reboot",
		};
		int s = c->ptrace_scope > 3 ? 3 : c->ptrace_scope;
		snprintf(buf, size, "permission denied: Yama ptrace_scope=%d (%s)%s",
			 c->ptrace_scope, scope_rule[s],
			 s < 3 ? "; run as root or grant CAP_SYS_PTRACE" : "");
		return;
	}
	if (c->cap_sys_ptrace) {
		snprintf(buf, size, "permission denied despite CAP_SYS_PTRACE: the process is in "
			 "another user namespace, or an LSM (AppArmor, SELinux) forbids it%s", container);
		return;
	}
	if (target_uid != c->euid) {
		snprintf(buf, size, "permission denied: the process belongs to %s and pscope runs as %s "
			 "without CAP_SYS_PTRACE%s", owner, self, container);
		return;
	}
	if (looks_nondumpable(pid, target_uid)) {
		snprintf(buf, size, "permission denied: the process made itself non-dumpable "
			 "(PR_SET_DUMPABLE 0, or it gained privileges); needs CAP_SYS_PTRACE%s", container);
		return;
	}
	snprintf(buf, size, "permission denied: same user %s, but the kernel refused; needs "
		 "CAP_SYS_PTRACE%s", owner, container);
}
