/*
 * su_as_agent: the setuid-root entrypoint of agent-as-unix-user (au).
 *
 * A human of group su-as-NAME runs one command as the (hostile) agent user NAME:
 *   su_as_agent [OPTION]... [--] CMD [ARG]...        (USAGE below lists every option)
 * Only LANG, TERM and AU_ENV_<KEY>=<VALUE> are read from the environment.  The command gets those,
 * the agent's HOME, USER, LOGNAME from passwd, SHELL=/bin/bash (never the passwd shell: agent
 * accounts have nologin there), a fixed PATH and XDG_RUNTIME_DIR=/run/user/AGENT_UID.  Exit status:
 * CMD's, 128+N if it died from signal N, 125 for entrypoint errors, 126/127 when exec fails.
 * main() at the bottom is the list of phases; each phase's functions say which process runs them.
 *
 * Process structure, and why:
 *  P0  the process the human started.  Sets no_new_privs first, refuses the agent and non-drivers,
 *      validates all arguments and captures the allowed environment before anything privileged
 *      (resolving caller-supplied paths with the caller's filesystem identity, not root's),
 *      unshares mount, pid and IPC namespaces, forks P1, then drops back to the caller's uid/gid
 *      for good.  From then on it only forwards SIGTERM/INT/HUP/QUIT to P1 as bytes on the `ctl`
 *      socket, relays the command's stops to the human's job (job control, below run_p0) and
 *      waits for P1.  It holds no privilege, and the agent (another uid) can neither signal nor
 *      ptrace it.
 *  P1  pid 1 of the new pid namespace, root in the new mount namespace.  Makes / private, mounts a
 *      fresh /proc, mqueue, and tmpfs on every shared writable place (/tmp, /dev/shm, /var/tmp,
 *      /run/lock, /run/user holding the agent's runtime directory) and, in lockdown, over the agent
 *      home, with an empty network namespace.  The mount targets are created, and the lockdown
 *      home seeded, by a child that already is the agent (root never creates anything in the
 *      agent's home); each share is attached with the new mount API onto a directory opened
 *      beneath the agent home without following symlinks.  P1 leaves the caller's session unless
 *      on au's own PTY (so the caller's terminal is never the agent's controlling tty: no
 *      TIOCSTI), becomes the agent, joins a fresh session keyring of its own (the caller's, and
 *      the caller's user keyring linked in it, are inherited through the setuid exec and would
 *      stay possessed), proves all of it, then confines what uids cannot separate (Landlock scope
 *      on abstract unix sockets and signals, a seccomp filter on keyrings and, under a network
 *      policy, on socket families), forks P2.  It then stays as the unprivileged init of the
 *      namespace: reaps, forwards P0's signals with kill(-1), reports P2's stops to P0 and
 *      continues P2 when P0 says so, kills everything when P2 ends or when P0 disappears (ctl
 *      EOF, PDEATHSIG).  Being init of the pid namespace, its exit makes the kernel kill
 *      whatever the agent started (setsid -f, double fork, ...): nothing outlives the run, and
 *      every private place dies with the namespaces.
 *  P2  the command: own process group (the PTY's foreground group on au's PTY), default signal
 *      dispositions, fds 0-2 only, the scrubbed environment, execvp.
 *
 * Limits (only numbers come from the caller; every cgroup path is built here from AGENT_NAME, opened
 * one component at a time with O_NOFOLLOW, and checked to be on a cgroup filesystem).  P0, still
 * root, makes the agent's cgroup <root>/agent-as-unix-user/AGENT_NAME (root-owned: the agent cannot
 * write its limits), writes the limits there (every run, so a cleared limit goes back to "max"),
 * removes the empty run cgroups of earlier runs, and makes run-<P0 pid> beneath it; P1 moves itself
 * into that run cgroup before anything else, so every agent process is inside, whatever it does
 * with sessions and process groups.  cgroup v2 when /sys/fs/cgroup is cgroup2, else the v1
 * memory, cpu and pids hierarchies (only those a limit needs).  RLIMIT_NOFILE and RLIMIT_NPROC
 * (= --pids, per uid) are set by P1 before it drops privileges.  When the command is SIGKILLed and
 * the run cgroup counted an OOM kill, P1 says so.
 *
 * Review shares (--mount-review SRC TGT KEY): the agent sees SRC read-write, but what it changes
 * is staged; SRC is never written.  P1 mounts an overlayfs at TGT whose lower layer is SRC and
 * whose upper and work directories are in STAGE = REVIEW_ROOT/AGENT_NAME/<caller uid>-KEY, a path
 * built here (KEY is [a-z0-9]{16}), opened without following symlinks and checked to be the
 * caller's, 0700.  Both layers are idmapped (caller -> agent, root -> root): the agent sees the
 * human's files as its own without any ACL on SRC, and what it creates lands in STAGE owned by
 * the human, who reviews it (au changes/accept/discard) by reading STAGE/upper.  Overlay keeps
 * its markers in user.overlay.* (userxattr), which the human can read.  P1 holds a shared flock
 * on STAGE for the run; au accept and au discard take it exclusively.
 *
 * Network policy (fail closed): with --net-policy ID, P0 (root) asks the kernel over netlink for
 * the nftables table "inet au-AGENT_NAME" and refuses to run unless it exists and its comment is
 * "au-policy:ID" (written by `au net apply`, ID identifying the policy in the config).  Asking the
 * kernel itself, rather than trusting a marker file, catches a flushed ruleset or a reboot; only
 * root can read nftables, and this needs no extra process on the run's path.  The table's input
 * rules know the agent's sockets by its cgroup v2 (<v2 root>/agent-as-unix-user/AGENT_NAME, made
 * by `au net apply`; /sys/fs/cgroup/unified on hybrid hosts): P0 makes run-<pid> there as well and
 * forks P1 into it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#if !defined(AGENT_NAME) || !defined(AGENT_UID) || !defined(AGENT_GID) || !defined(DRIVER_GID) || \
	!defined(AGENT_HOME)
#error "build with -DAGENT_NAME=... -DAGENT_UID=... -DAGENT_GID=... -DDRIVER_GID=... -DAGENT_HOME=..."
#endif

/* For old headers.  These syscall numbers are the same on all architectures (asm-generic table). */
#ifndef SYS_mount_setattr /* the newest of them (5.12): older headers lack some of the others */
#undef SYS_open_tree
#undef SYS_move_mount
#undef SYS_close_range
#undef SYS_openat2
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_close_range 436
#define SYS_openat2 437
#define SYS_mount_setattr 442
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH /* glibc < 2.36: none of the new mount API constants */
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#define MOVE_MOUNT_F_EMPTY_PATH 0x04
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_IDMAP 0x00100000
#define FSOPEN_CLOEXEC 1
#define FSMOUNT_CLOEXEC 1
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_FD 5
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef RESOLVE_BENEATH /* <linux/openat2.h> */
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif
struct au_open_how { uint64_t flags, mode, resolve; };                       /* openat2(2) */
struct au_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; }; /* mount_setattr(2) */

#define MAX_MOUNTS 64
#define MAX_ENV 256
#define P1_GRACE_MS 3000 /* P1: after a forwarded signal, SIGKILL everything after this */
#define P0_GRACE_S 5     /* P0: after a signal, stop waiting for P1 after this (PDEATHSIG does the rest) */
#define USAGE                                                                                              \
	"su_as_agent [--mount-ro SRC TGT]... [--mount-rw SRC TGT]... [--mount-review[-ro] SRC TGT KEY]... "      \
	"[--chdir DIR] [--tmp-home [--seed REL]...] "                                                           \
	"[--no-network] [--memory BYTES] [--cpu PERCENT] [--pids N] [--nofile N] [--net-policy ID] "            \
	"[--die-with-parent] [--] CMD [ARG]..."
#define CGROUP2_MAGIC 0x63677270
#define CGROUP1_MAGIC 0x27e0eb
#define TMPFS_MAGIC 0x01021994
#define CG_TOP "agent-as-unix-user"
#define REVIEW_ROOT "/var/lib/agent-as-unix-user/review" /* review/staging.ts has the same */
#define REVIEW_KEY_LEN 16

/* rel: tgt relative to AGENT_HOME; key: a review share's (else NULL) */
struct share { const char *src, *tgt, *rel, *key; int ro; };
static struct share mounts[MAX_MOUNTS];
static int nmounts;
static char *au_env[MAX_ENV]; /* "KEY=VALUE": the caller's AU_ENV_KEY=VALUE without the prefix */
static int nau_env;
static char *lang, *term;     /* "LANG=..."/"TERM=..." if the caller had them */
#define FIXED_ENV 9 /* build_environment's fixed entries */
static char *envv[FIXED_ENV + MAX_ENV + 1]; /* the command's environment, NULL-terminated */
static int nenv;
static char e_home[PATH_MAX + 8], e_user[300], e_logname[300];
static char e_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
static char e_shell[] = "SHELL=/bin/bash"; /* what au runs; the passwd shell is nologin */
#define STR2(x) #x
#define STR(x) STR2(x)
#define RUNTIME_DIR "/run/user/" STR(AGENT_UID) /* a tmpfs of the run, the agent's, 0700 */
static char e_runtime[] = "XDG_RUNTIME_DIR=" RUNTIME_DIR;
/* The agent's BROWSER: a link it wants opened is shown to the human on the run's terminal (the
 * human's side filters it like all agent output); nothing is ever opened for the agent. */
#define BROWSER_SHIM RUNTIME_DIR "/au-browser"
static char e_browser[] = "BROWSER=" BROWSER_SHIM;
static const char browser_shim[] =
	"#!/bin/sh\n"
	"# au: the agent asks the human to open a link; au never opens anything itself.\n"
	"for url in \"$@\"; do\n"
	"  { printf '\\r\\n[au] the agent asks you to open: \\033]8;;%s\\033\\\\%s\\033]8;;\\033\\\\\\r\\n' \"$url\" \"$url\" >/dev/tty; } 2>/dev/null ||\n"
	"    printf '[au] the agent asks you to open: %s\\n' \"$url\" >&2\n"
	"done\n";
static const char *chdir_to = AGENT_HOME;
static pid_t die_with_parent;             /* --die-with-parent: the parent whose death ends the run */
static int tmp_home, no_network;           /* --tmp-home, --no-network: a lockdown run */
static const char *seeds[MAX_MOUNTS];       /* --seed REL: copied from the real home into the tmpfs one */
static int nseeds, real_home = -1;
static volatile sig_atomic_t first_sig;
/* Limits from the caller (0: none).  cg_run: the run cgroup of each hierarchy used (-1: none). */
static unsigned long long lim_memory, lim_cpu, lim_pids, lim_nofile;
static const char *net_policy; /* --net-policy: [0-9a-z-]{1,32} */
enum { CG_MEM, CG_CPU, CG_PIDS, CG_N };
static int cg_run[CG_N] = { -1, -1, -1 }, cg_v1, oom_fd = -1, cg_net = -1;
static int ctl_w = -1; /* P0's end of the ctl socket */
static uid_t caller_uid; /* the real uid and gid of whoever ran us */
static gid_t caller_gid;
static long caller_keyrings[2]; /* the caller's session and user keyring (0: none), see keyrings */
extern char **environ;

/* Every error: one line "su_as_agent: <what> <path>: <strerror>", exit 125. */
__attribute__((noreturn)) static void fail(const char *what, const char *path, int err)
{
	fprintf(stderr, "su_as_agent: %s %s: %s\n", what, path, strerror(err));
	_exit(125);
}
__attribute__((noreturn)) static void die(const char *what, const char *path) { fail(what, path, errno); }
static void xclose(int fd) { if (close(fd) < 0) die("close", "fd"); }

/* Absolute and normalised: no empty, "." or ".." component, no trailing slash, < PATH_MAX. */
static int path_ok(const char *p)
{
	size_t n = strnlen(p, PATH_MAX);
	if (n == 0 || n >= PATH_MAX || p[0] != '/' || p[n - 1] == '/') return 0;
	for (const char *c = p; *c;) {
		const char *s = c + 1, *e = strchrnul(s, '/');
		size_t l = (size_t)(e - s);
		if (l == 0 || l > NAME_MAX || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		c = e;
	}
	return 1;
}

/* If p is strictly inside base: the part of p after "base/"; else NULL. */
static const char *beneath(const char *p, const char *base)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/') n--;
	if (strncmp(p, base, n) != 0 || p[n] != '/' || p[n + 1] == '\0') return NULL;
	return p + n + 1;
}

/* [A-Za-z_][A-Za-z0-9_]*, and not one of the names the entrypoint sets from passwd. */
static int key_ok(const char *k, size_t n)
{
	static const char *const reserved[] = { "HOME", "USER", "LOGNAME", "SHELL", "XDG_RUNTIME_DIR" };
	static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
	if (n == 0 || (k[0] >= '0' && k[0] <= '9') || strspn(k, word) < n) return 0;
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], k, n) == 0) return 0;
	return 1;
}

/* Phase 1 (P0): the no_new_privs bit, inherited by everything we fork: nothing the run executes
 * (setuid programs, file capabilities) can gain privileges.  It does not restrict what this
 * process does with the privileges it already has. */
static void no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("prctl", "PR_SET_NO_NEW_PRIVS");
}

/* Phase 2 (P0): not the agent; root, or DRIVER_GID among the caller's real/supplementary groups. */
static void identify_caller(const char *self)
{
	caller_uid = getuid();
	caller_gid = getgid();
	if (caller_uid == AGENT_UID) fail("refusing to run for the agent user", AGENT_NAME, EPERM);
	if (geteuid() != 0) fail("not running as root (must be installed setuid root):", self, EPERM);
	if (signal(SIGCHLD, SIG_DFL) == SIG_ERR) die("signal", "SIGCHLD"); /* SIG_IGN breaks waitpid */
	if (caller_uid == 0 || caller_gid == DRIVER_GID) return;
	int n = getgroups(0, NULL);
	if (n < 0) die("getgroups", "caller");
	gid_t *g = calloc((size_t)n + 1, sizeof *g);
	if (!g) die("calloc", "groups");
	if ((n = getgroups(n, g)) < 0) die("getgroups", "caller");
	for (int i = 0; i < n; i++)
		if (g[i] == DRIVER_GID) return;
	fail("refusing caller: not a member of group", "su-as-" AGENT_NAME, EPERM);
}

/* The identity the kernel checks file access with.  Paths the caller chose are resolved as the
 * caller (like bubblewrap does), so root's rights never reach anything the caller could not;
 * everything else as root.  setfsuid reports no error: the identity is read back instead. */
static void fs_identity(uid_t uid, gid_t gid)
{
	setfsgid(gid);
	setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
		fail("setfsuid/setfsgid to", uid ? "the caller" : "root", EPERM);
}

static void set_str(char *dst, size_t size, const char *key, const char *val)
{
	int n = snprintf(dst, size, "%s=%s", key, val ? val : "");
	if (n < 0 || (size_t)n >= size) fail("passwd entry of the agent too long:", key, ENAMETOOLONG);
}

/* A decimal number in [lo, hi], nothing else. */
static unsigned long long number(const char *s, unsigned long long lo, unsigned long long hi, const char *opt)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < lo || v > hi) fail("invalid value for", opt, EINVAL);
	return v;
}

/* Phase 3 (P0): parse and validate everything before any privileged action; returns CMD's index. */
static int parse(int argc, char **argv)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--mount-ro") == 0 || strcmp(a, "--mount-rw") == 0) {
			if (i + 2 >= argc) fail("usage:", USAGE, EINVAL);
			if (nmounts == MAX_MOUNTS) fail("too many mounts (at most 64), at", argv[i + 2], E2BIG);
			mounts[nmounts++] = (struct share){ argv[i + 1], argv[i + 2], NULL, NULL, a[9] == 'o' };
			i += 2;
		} else if (strcmp(a, "--mount-review") == 0 || strcmp(a, "--mount-review-ro") == 0) {
			if (i + 3 >= argc) fail("usage:", USAGE, EINVAL);
			if (nmounts == MAX_MOUNTS) fail("too many mounts (at most 64), at", argv[i + 2], E2BIG);
			mounts[nmounts++] = (struct share){ argv[i + 1], argv[i + 2], NULL, argv[i + 3], a[14] == '-' };
			i += 3;
		} else if (strcmp(a, "--tmp-home") == 0) {
			tmp_home = 1;
		} else if (strcmp(a, "--seed") == 0) {
			if (i + 1 >= argc) fail("usage:", USAGE, EINVAL);
			if (nseeds == MAX_MOUNTS) fail("too many --seed (at most 64), at", argv[i + 1], E2BIG);
			seeds[nseeds++] = argv[++i];
		} else if (strcmp(a, "--no-network") == 0) {
			no_network = 1;
		} else if (strcmp(a, "--die-with-parent") == 0) {
			die_with_parent = getppid();
		} else if (strcmp(a, "--chdir") == 0) {
			if (i + 1 >= argc) fail("usage:", USAGE, EINVAL);
			chdir_to = argv[++i];
			if (chdir_to[0] != '/' || strnlen(chdir_to, PATH_MAX) >= PATH_MAX)
				fail("invalid --chdir (must be absolute)", chdir_to, EINVAL);
		} else if (strcmp(a, "--memory") == 0 || strcmp(a, "--cpu") == 0 || strcmp(a, "--pids") == 0 ||
			   strcmp(a, "--nofile") == 0) {
			if (i + 1 >= argc) fail("usage:", USAGE, EINVAL);
			/* memory 1 MiB..1 PiB, cpu 1..100000 (% of one CPU), pids 1..4194304, nofile 8..1048576 */
			char o = a[2];
			unsigned long long *dst = o == 'm' ? &lim_memory : o == 'c' ? &lim_cpu : o == 'p' ? &lim_pids : &lim_nofile;
			*dst = number(argv[++i], o == 'm' ? 1ULL << 20 : o == 'n' ? 8 : 1,
				      o == 'm' ? 1ULL << 50 : o == 'c' ? 100000 : o == 'p' ? 4194304 : 1048576, a);
		} else if (strcmp(a, "--net-policy") == 0) {
			if (i + 1 >= argc) fail("usage:", USAGE, EINVAL);
			net_policy = argv[++i];
			size_t n = strlen(net_policy);
			if (n == 0 || n > 32 || strspn(net_policy, "0123456789abcdefghijklmnopqrstuvwxyz-") != n)
				fail("invalid value for", a, EINVAL);
		} else if (a[0] == '-') {
			fail("unknown option", a, EINVAL);
		} else {
			break;
		}
	}
	if (i >= argc) fail("missing command; usage:", USAGE, EINVAL);

	for (int k = 0; k < nseeds; k++) {
		char abs[PATH_MAX];
		int n = snprintf(abs, sizeof abs, "%s/%s", AGENT_HOME, seeds[k]);
		if (!tmp_home || n < 0 || (size_t)n >= sizeof abs || !path_ok(abs) || !beneath(abs, AGENT_HOME))
			fail("invalid --seed (a normalised path in the home, with --tmp-home)", seeds[k], EINVAL);
	}
	if (nmounts > 0) {
		static char home[PATH_MAX];
		errno = 0;
		struct passwd *pw = getpwuid(caller_uid);
		if (!pw) fail("no passwd entry for", "the caller", errno ? errno : ENOENT);
		if (!pw->pw_dir || pw->pw_dir[0] != '/') fail("no absolute home for", "the caller", EINVAL);
		if (strnlen(pw->pw_dir, PATH_MAX) >= PATH_MAX) fail("home too long", "caller", ENAMETOOLONG);
		strcpy(home, pw->pw_dir);
		fs_identity(caller_uid, caller_gid);
		char *rhome = realpath(home, NULL); /* the resolved form of the home is accepted too */
		fs_identity(0, 0);
		for (int m = 0; m < nmounts; m++) {
			struct share *s = &mounts[m];
			if (!path_ok(s->src) || !(beneath(s->src, home) || (rhome && beneath(s->src, rhome))))
				fail("invalid mount source (must be normalised, inside the caller's home)", s->src, EINVAL);
			if (!path_ok(s->tgt) || !(s->rel = beneath(s->tgt, AGENT_HOME)))
				fail("invalid mount target (must be normalised, inside " AGENT_HOME ")", s->tgt, EINVAL);
			if (s->key && (strlen(s->key) != REVIEW_KEY_LEN ||
				       strspn(s->key, "0123456789abcdefghijklmnopqrstuvwxyz") != REVIEW_KEY_LEN))
				fail("invalid review key (must be 16 of [a-z0-9])", s->tgt, EINVAL);
			/* The idmaps map root to root and the caller to the agent: both must be other ids. */
			if (s->key && (caller_uid == 0 || caller_gid == 0))
				fail("review shares need a caller other than root:", s->src, EINVAL);
		}
		free(rhome);
	}

	errno = 0;
	struct passwd *ag = getpwuid(AGENT_UID);
	if (!ag) fail("no passwd entry for", AGENT_NAME, errno ? errno : ENOENT);
	if (strcmp(ag->pw_name, AGENT_NAME) != 0) fail("the agent uid's passwd entry is not", AGENT_NAME, EINVAL);
	set_str(e_home, sizeof e_home, "HOME", ag->pw_dir);
	set_str(e_user, sizeof e_user, "USER", ag->pw_name);
	set_str(e_logname, sizeof e_logname, "LOGNAME", ag->pw_name);

	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "LANG=", 5) == 0) {
			lang = *e;
		} else if (strncmp(*e, "TERM=", 5) == 0) {
			term = *e;
		} else if (strncmp(*e, "AU_ENV_", 7) == 0) {
			char *kv = *e + 7, name[80];
			size_t k = strcspn(kv, "=");
			if (kv[k] != '=' || !key_ok(kv, k)) { /* the name only: the value may be a secret */
				snprintf(name, sizeof name, "AU_ENV_%.*s", (int)(k < 64 ? k : 64), kv);
				fail("invalid environment variable", name, EINVAL);
			}
			if (nau_env == MAX_ENV) fail("too many variables (at most 256):", "AU_ENV_*", E2BIG);
			au_env[nau_env++] = kv;
		}
	}
	return i;
}

/* Phase 6 (P0): signals forwarded to P1.  The write can only fail once P1 is gone, and then
 * waitpid returns anyway. */
static void on_fwd(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (write(ctl_w, &b, 1) < 0) { /* nothing to do */ }
	if (!first_sig) {
		first_sig = sig;
		alarm(P0_GRACE_S);
	}
	errno = saved;
}
static void on_alarm(int sig) { (void)sig; _exit(128 + first_sig); }

/* Phase 6 (P0): job control.  P1 sends a SIGTSTP byte on ctl when the command stopped (Ctrl-Z
 * on its terminal, or it stopped itself, as vim and Claude Code do), and P0 makes that a stop of
 * the job the human sees; when the job is continued, P0 sends a SIGCONT byte and P1 continues the
 * command, as sudo and script do.  This lives only in P0's relay and P1's wait loop, apart from
 * the privilege phases: it runs with no privilege, and an agent that stops itself does no more
 * than the human's own Ctrl-Z would.
 *  - A run on au's own PTY (spawned by au, --die-with-parent): P0 leads a session of its own, an
 *    orphaned process group whose SIGTSTP the kernel discards, so the stop goes to au, which gives
 *    the human's terminal back, stops itself, and on `fg` takes the terminal again and sends P0
 *    SIGCONT.  Nothing else ever gets a signal from P0 (server sessions have no --die-with-parent).
 *  - Otherwise P0's process group stops (kill(0, SIGTSTP), as vim does), that is the job of
 *    whoever ran us; in a group with no job control (orphaned: setsid, server sessions, most CI)
 *    the kernel discards it and the command goes on at once, as it would without au. */
static volatile sig_atomic_t continued; /* SIGCONT seen */
static void on_cont(int sig) { (void)sig; continued = 1; }

static void tell_p1(int ctl, int sig)
{
	unsigned char b = (unsigned char)sig;
	if (write(ctl, &b, 1) < 0 && errno != EPIPE && errno != ECONNRESET) die("write", "ctl");
}

/* Returns whether P0 now waits for au's SIGCONT; otherwise the job has been continued already. */
static int stop_job(int ctl, int on_pty)
{
	if (on_pty && die_with_parent && getppid() == die_with_parent) {
		if (kill(die_with_parent, SIGTSTP) < 0) die("kill", "SIGTSTP to au");
		return 1;
	}
	struct sigaction sa = { .sa_handler = SIG_DFL };
	if (sigaction(SIGTSTP, &sa, NULL) < 0 || kill(0, SIGTSTP) < 0) die("stopping", "the job");
	sa.sa_handler = SIG_IGN; /* back from the stop (or it was discarded) */
	if (sigaction(SIGTSTP, &sa, NULL) < 0) die("sigaction", "SIGTSTP");
	tell_p1(ctl, SIGCONT);
	return 0;
}

/* Phase 6 (P0): the caller again, for good; forwards signals, relays stops, waits for P1. */
__attribute__((noreturn)) static void run_p0(pid_t p1, int ctl[2], int on_pty)
{
	static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	static const int ign[] = { SIGTTOU, SIGTTIN, SIGTSTP, SIGPIPE };
	xclose(ctl[0]);
	ctl_w = ctl[1];
	if (setresgid(caller_gid, caller_gid, caller_gid) < 0) die("setresgid", "to the caller");
	if (setresuid(caller_uid, caller_uid, caller_uid) < 0) die("setresuid", "to the caller");
	struct sigaction sa = { .sa_handler = on_alarm };
	sigset_t set;
	if (sigfillset(&sa.sa_mask) < 0 || sigemptyset(&set) < 0 || sigaddset(&set, SIGALRM) < 0) die("sigset", "P0");
	if (sigaction(SIGALRM, &sa, NULL) < 0) die("sigaction", "SIGALRM");
	for (size_t i = 0; i < 4; i++) {
		sa.sa_handler = on_fwd;
		if (sigaction(fwd[i], &sa, NULL) < 0) die("sigaction", "forwarded signal");
		sa.sa_handler = SIG_IGN;
		if (sigaction(ign[i], &sa, NULL) < 0) die("sigaction", "ignored signal");
		if (sigaddset(&set, fwd[i]) < 0) die("sigaddset", "P0");
	}
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0) die("sigprocmask", "P0");
	/* When au spawned us (no exec), its death, even by SIGKILL, must end the run too: it arrives
	 * as a SIGTERM to forward.  Armed after the uid change, which clears it. */
	if (die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0) die("prctl", "PR_SET_PDEATHSIG");
		if (getppid() != die_with_parent && raise(SIGTERM) != 0) die("raise", "SIGTERM");
	}
	/* SIGCONT is held but while waiting in ppoll, so none is missed between test and wait. */
	sigset_t cont, waiting;
	sa.sa_handler = on_cont;
	if (sigemptyset(&cont) < 0 || sigaddset(&cont, SIGCONT) < 0) die("sigset", "SIGCONT");
	if (sigprocmask(SIG_BLOCK, &cont, &waiting) < 0) die("sigprocmask", "SIGCONT");
	if (sigaction(SIGCONT, &sa, NULL) < 0) die("sigaction", "SIGCONT");
	int awaiting_au = 0;
	for (;;) { /* until P1 is gone: its end of ctl closes */
		struct pollfd pf = { ctl_w, POLLIN, 0 };
		int r = ppoll(&pf, 1, NULL, &waiting);
		if (continued) {
			continued = 0;
			if (awaiting_au) tell_p1(ctl_w, SIGCONT);
			awaiting_au = 0;
		}
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) die("ppoll", "ctl");
		unsigned char b[16];
		ssize_t n = read(ctl_w, b, sizeof b);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && errno != ECONNRESET) die("read", "ctl");
		if (n <= 0) break;
		for (ssize_t i = 0; i < n; i++)
			if (b[i] == SIGTSTP && !awaiting_au) awaiting_au = stop_job(ctl_w, on_pty);
	}
	int st;
	while (waitpid(p1, &st, 0) < 0)
		if (errno != EINTR) die("waitpid", "namespace init");
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* Lockdown: a throw-away home (dies with the mount namespace) and a network namespace with
 * nothing but loopback. */
#define HOME_TMPFS_OPTIONS "mode=0700,uid=" STR(AGENT_UID) ",gid=" STR(AGENT_GID)

static void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) die("socket", "loopback");
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS", "lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS", "lo");
	xclose(fd);
}

/* Closes every fd above 2. */
static void close_from_3(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
		struct rlimit rl;
		if (errno != ENOSYS || getrlimit(RLIMIT_NOFILE, &rl) < 0) die("close_range", "3..");
		int max = rl.rlim_max > (1 << 20) ? (1 << 20) : (int)rl.rlim_max;
		for (int fd = 3; fd < max; fd++)
			if (close(fd) < 0 && errno != EBADF) die("close", "fd");
	}
}

/* Phase 7 (P1, root): every place the host shares for writing gets a fresh instance of the run,
 * gone with its mount namespace: /tmp, /dev/shm, /var/tmp, /run/lock, the mqueue filesystem of
 * the run's own IPC namespace, and /run/user (hiding the humans' runtime directories) with the
 * agent's runtime directory in it.  A host without /var/tmp, /run/lock or /dev/mqueue shares
 * nothing there; /run/user is made (root's, 0755, as logind makes it) where it is missing.
 * Root may create RUNTIME_DIR by path: the tmpfs is new and no other process is in this
 * namespace yet. */
static void private_places(void)
{
	static const struct place {
		const char *path, *type, *data;
		unsigned long flags;
		int optional;
	} places[] = {
		{ "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0 },
		{ "/tmp", "tmpfs", "mode=1777,uid=0,gid=0", MS_NOSUID | MS_NODEV, 0 },
		{ "/dev/shm", "tmpfs", "mode=1777,uid=0,gid=0", MS_NOSUID | MS_NODEV, 0 },
		{ "/var/tmp", "tmpfs", "mode=1777,uid=0,gid=0", MS_NOSUID | MS_NODEV, 1 },
		{ "/run/lock", "tmpfs", "mode=1777,uid=0,gid=0", MS_NOSUID | MS_NODEV | MS_NOEXEC, 1 },
		{ "/dev/mqueue", "mqueue", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 1 },
		{ "/run/user", "tmpfs", "mode=0755,uid=0,gid=0", MS_NOSUID | MS_NODEV, 0 },
	};
	if (mkdir("/run/user", 0755) < 0 && errno != EEXIST) die("mkdir", "/run/user");
	for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
		const struct place *p = &places[i];
		if (mount(p->type, p->path, p->type, p->flags, p->data) < 0 && !(p->optional && errno == ENOENT))
			die("mount", p->path);
	}
	if (mkdir(RUNTIME_DIR, 0700) < 0 || fchownat(AT_FDCWD, RUNTIME_DIR, AGENT_UID, AGENT_GID, AT_SYMLINK_NOFOLLOW) < 0)
		die("making the runtime directory", RUNTIME_DIR);
	int shim = open(BROWSER_SHIM, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (shim < 0) die("creating", BROWSER_SHIM);
	size_t len = sizeof browser_shim - 1;
	if (write(shim, browser_shim, len) != (ssize_t)len) die("writing", BROWSER_SHIM);
	xclose(shim);
}

/* Keyrings.  Rights to a keyring come with possessing it, whatever the uid: P1 inherited the
 * caller's session keyring through the setuid exec, and through it the caller's user keyring
 * (pam_keyinit links it in).  Phase 8 records their serials while P1 still has them (a lookup
 * that creates no session keyring: without one the kernel reports the caller's user-session
 * keyring), then the agent joins a new anonymous session keyring of its own, and the proof
 * requires that it can neither describe nor read either.  Nothing to possess: no keyrings in
 * the kernel (ENOSYS), or a revoked or expired one (the caller's login session ended, as when a
 * tmux server outlives it), which the kernel opens to nobody. */
static long keyring_id(int spec)
{
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, spec, 0);
	if (id < 0 && errno != ENOSYS && errno != ENOKEY && errno != EKEYREVOKED && errno != EKEYEXPIRED)
		die("keyctl", "looking up a keyring");
	return id < 0 ? 0 : id;
}
static void record_caller_keyrings(void)
{
	caller_keyrings[0] = keyring_id(KEY_SPEC_SESSION_KEYRING);
	caller_keyrings[1] = keyring_id(KEY_SPEC_USER_KEYRING);
}

static void become_agent(void)
{
	if (setgroups(0, NULL) < 0) die("setgroups", "to none");
	if (setresgid(AGENT_GID, AGENT_GID, AGENT_GID) < 0) die("setresgid", "to the agent");
	if (setresuid(AGENT_UID, AGENT_UID, AGENT_UID) < 0) die("setresuid", "to the agent");
	/* Owned by the agent, as it is made after the switch; inherited by everything forked later. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
		die("keyctl", "joining a new session keyring");
	/* Not dumpable: other agent processes must not ptrace us (our memory holds the caller's env). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die("prctl", "PR_SET_DUMPABLE");
}

/* Phase 8 (P1, the agent): prove that neither root nor the caller can be regained, that no
 * capability is left, that no_new_privs is set, and that no keyring of the caller is reachable. */
static void prove_agent(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0) die("getresuid", "agent");
	if (r != AGENT_UID || e != r || s != r || gr != AGENT_GID || ge != gr || gs != gr)
		fail("privilege drop failed:", "uids/gids are not the agent's", ECANCELED);
	int ng = getgroups(0, NULL);
	if (ng != 0) fail("privilege drop failed:", "supplementary groups left", ng < 0 ? errno : ECANCELED);
	if (setuid(0) == 0 || setresuid((uid_t)-1, 0, (uid_t)-1) == 0 || setgid(0) == 0 ||
	    setuid(caller_uid) == 0)
		fail("privilege drop failed:", "uid 0 or the caller's uid can be regained", ECANCELED);
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capset, &h, d) < 0) die("capset", "to none"); /* clears the inheritable set too */
	if (syscall(SYS_capget, &h, d) < 0) die("capget", "agent");
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			fail("privilege drop failed:", "capabilities left", ECANCELED);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) fail("privilege drop failed:", "no_new_privs not set", ECANCELED);
	char buf[256];
	long own = keyring_id(KEY_SPEC_SESSION_KEYRING);
	for (int i = 0; i < 2; i++) {
		long k = caller_keyrings[i];
		if (k && (own == k || syscall(SYS_keyctl, KEYCTL_DESCRIBE, k, buf, sizeof buf) >= 0 ||
			  syscall(SYS_keyctl, KEYCTL_READ, k, buf, sizeof buf) >= 0))
			fail("privilege drop failed:", "a keyring of the caller is still reachable", ECANCELED);
	}
}

/* Phase 8 (P1, the agent, after the proof: it needs keyctl): what uids cannot separate.
 *
 * Landlock scoping.  Outside lockdown the run shares the host's network namespace, and with it the
 * abstract unix socket namespace: no file mode guards those names (X11's @/tmp/.X11-unix/X0, D-Bus,
 * root daemons' control sockets) and nftables never sees AF_UNIX.  A Landlock domain scoped to
 * abstract sockets and signals lets the run connect only to abstract sockets made inside its own
 * domain, and signal only its own processes.  It needs ABI >= 6 (Linux 6.12); on older kernels,
 * or with Landlock disabled, the run goes on without it (au doctor warns about it). */
#ifndef SYS_landlock_create_ruleset /* the same number on all architectures (asm-generic table) */
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_restrict_self 446
#endif
struct au_landlock_attr { uint64_t handled_access_fs, handled_access_net, scoped; }; /* ABI 6 layout */
#define AU_LANDLOCK_VERSION 1u          /* LANDLOCK_CREATE_RULESET_VERSION: ask for the ABI */
#define AU_SCOPE_ABSTRACT_UNIX 1u       /* LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET */
#define AU_SCOPE_SIGNAL 2u              /* LANDLOCK_SCOPE_SIGNAL */
static void landlock_scope(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, AU_LANDLOCK_VERSION);
	if (abi < 0 && errno != ENOSYS && errno != EOPNOTSUPP) die("landlock", "asking for the ABI");
	if (abi < 6) return; /* no scoping in this kernel: doctor's business, not the run's */
	struct au_landlock_attr attr = { 0, 0, AU_SCOPE_ABSTRACT_UNIX | AU_SCOPE_SIGNAL };
	long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (fd < 0) die("landlock", "creating the ruleset");
	if (syscall(SYS_landlock_restrict_self, (int)fd, 0) < 0) die("landlock", "restricting the run");
	xclose((int)fd);
}

/* Seccomp, for what neither uids nor nftables see.  Every run: request_key fails (ENOSYS, as on a
 * kernel without keys): its upcalls run root helpers (DNS lookups for dns_resolver keys) past the
 * network policy and lockdown.  Lockdown: add_key and keyctl fail too, since the uid's user and
 * persistent keyrings are shared with the normal runs an untrusted repo must not reach.  Under an
 * enforced network policy: sockets only of families and protocols the nftables rules attribute to
 * the agent (AF_UNIX and AF_NETLINK stay local; TCP, UDP and MPTCP over IPv4/6): UDP-Lite, ping
 * sockets, SCTP, AF_PACKET, vsock, ... fail, and so does io_uring, whose IORING_OP_SOCKET would
 * make sockets past this filter.  A syscall of another ABI than the build's (x32, i386 on x86_64)
 * kills the process: its numbers are another table this filter does not know. */
#if defined(__x86_64__)
#define AU_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AU_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define AU_AUDIT_ARCH AUDIT_ARCH_RISCV64
#else
#error "add this architecture's AUDIT_ARCH (and check its socket syscalls) to the seccomp filter"
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)) /* the int the kernel reads */
#else
#define ARG_LO(i) (uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define FAIL_NR(nr, e) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, ERRNO(e))
static void seccomp_filter(void)
{
	static const struct sock_filter head[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AU_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000 /* __X32_SYSCALL_BIT */, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
		FAIL_NR(SYS_request_key, ENOSYS),
	};
	static const struct sock_filter keys[] = { FAIL_NR(SYS_add_key, ENOSYS), FAIL_NR(SYS_keyctl, ENOSYS) };
	/* Decides socket(2) and socketpair(2) on their family, type (without SOCK_NONBLOCK|SOCK_CLOEXEC)
	 * and protocol: ALLOW, EAFNOSUPPORT or EPROTONOSUPPORT.  Every path ends in a return. */
	static const struct sock_filter family[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1), /* ip route, ss: never leaves the host */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, ERRNO(EAFNOSUPPORT)),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)(SOCK_NONBLOCK | SOCK_CLOEXEC)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_DGRAM, 0, 6), /* no: to EPROTONOSUPPORT */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 262 /* IPPROTO_MPTCP */, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, ERRNO(EPROTONOSUPPORT)),
	};
	/* socket(2) and socketpair(2) share the argument layout; any other syscall jumps past family[]. */
	static const struct sock_filter sockets[] = {
		FAIL_NR(SYS_io_uring_setup, ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, sizeof family / sizeof *family),
	};
	static const struct sock_filter tail[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_filter prog[sizeof head / sizeof *head + sizeof keys / sizeof *keys +
				sizeof sockets / sizeof *sockets + sizeof family / sizeof *family + 1];
	size_t n = 0;
	memcpy(prog, head, sizeof head), n += sizeof head / sizeof *head;
	if (tmp_home) memcpy(prog + n, keys, sizeof keys), n += sizeof keys / sizeof *keys;
	if (net_policy) {
		memcpy(prog + n, sockets, sizeof sockets), n += sizeof sockets / sizeof *sockets;
		memcpy(prog + n, family, sizeof family), n += sizeof family / sizeof *family;
	}
	memcpy(prog + n, tail, sizeof tail), n += 1;
	struct sock_fprog fprog = { (unsigned short)n, prog };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0) die("prctl", "PR_SET_SECCOMP");
}

/* Open the normalised relative path rel beneath dirfd one component at a time, never following a
 * symlink (O_PATH|O_DIRECTORY|O_NOFOLLOW on a symlink fails); with create, a missing component is
 * made with mkdirat(0755).  Returns an O_PATH fd, or -1 with errno set. */
static int walk(int dirfd, const char *rel, int create)
{
	char comp[NAME_MAX + 1];
	int fd = dirfd;
	for (const char *s = rel; *s;) {
		const char *e = strchrnul(s, '/');
		size_t l = (size_t)(e - s); /* <= NAME_MAX: path_ok */
		memcpy(comp, s, l);
		comp[l] = '\0';
		int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) goto out;
			nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) goto out;
		if (fd != dirfd) xclose(fd);
		fd = nfd;
		s = *e ? e + 1 : e;
	}
	return fd;
out:
	if (fd != dirfd) {
		int err = errno;
		xclose(fd);
		errno = err;
	}
	return -1;
}

/* Netlink attribute alignment, unsigned (the header's NLA_ALIGN mixes int and size_t). */
#define NL_ALIGN(n) (((n) + 3U) & ~3U)
#define NL_ATTR_HDR NL_ALIGN(sizeof(struct nlattr))

/* Phase 5 (P0, root): the agent's nftables table must be loaded with this policy (see top). */
static void net_check(void)
{
	static const char table[] = "au-" AGENT_NAME;
	char want[48], buf[16384];
	int found = 0, done = 0, n = snprintf(want, sizeof want, "au-policy:%s", net_policy) + 1; /* with its NUL */
	struct {
		struct nlmsghdr nh;
		struct nfgenmsg nf;
		struct nlattr na;
		char name[NL_ALIGN(sizeof table)];
	} req;
	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = sizeof req;
	req.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.nf.nfgen_family = NFPROTO_INET;
	req.nf.version = NFNETLINK_V0;
	req.na.nla_type = NFTA_TABLE_NAME;
	req.na.nla_len = NL_ATTR_HDR + sizeof table;
	memcpy(req.name, table, sizeof table);
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (s < 0) die("socket", "netlink netfilter");
	if (send(s, &req, sizeof req, 0) != (ssize_t)sizeof req) die("netlink send", table);
	while (!done) {
		ssize_t len = recv(s, buf, sizeof buf, 0);
		if (len < 0 && errno == EINTR) continue;
		if (len <= 0) die("netlink recv", table);
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_ERROR) {
				int err = -((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				if (err != 0 && err != ENOENT) fail("netlink query of nftables table", table, err);
				done = 1;
			} else if (nh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) {
				char *p = (char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg)), *end = (char *)nh + nh->nlmsg_len;
				for (struct nlattr *a = (struct nlattr *)p; p + NL_ATTR_HDR <= end && a->nla_len >= NL_ATTR_HDR &&
									     p + a->nla_len <= end;
				     p += NL_ALIGN(a->nla_len), a = (struct nlattr *)p)
					if ((a->nla_type & NLA_TYPE_MASK) == NFTA_TABLE_USERDATA &&
					    memmem(p + NL_ATTR_HDR, a->nla_len - NL_ATTR_HDR, want, (size_t)n))
						found = 1;
			} else if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
			}
		}
	}
	xclose(s);
	if (!found)
		fail("network policy not in force (run: au net apply -a " AGENT_NAME "): nftables table inet", table, ENOENT);
}

/* Limits, phase 5 (P0, root).  Writes s to the file name beneath the cgroup directory dir. */
static int cg_write(int dir, const char *name, const char *s)
{
	int fd = openat(dir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = write(fd, s, strlen(s));
	int err = errno;
	xclose(fd);
	errno = err;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}
static void cg_set(int dir, const char *name, const char *s)
{
	if (cg_write(dir, name, s) < 0) die("writing cgroup file " CG_TOP "/" AGENT_NAME "/", name);
}

/* The directory a beneath dir, never through a symlink, on a cgroup filesystem; -1 if missing. */
static int cg_open(int dir, const char *a, int create)
{
	struct statfs sf;
	int fd = walk(dir, a, create);
	if (fd < 0 && !create && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)) return -1;
	if (fd < 0) die("opening cgroup", a);
	if (fstatfs(fd, &sf) < 0) die("fstatfs", a);
	if (sf.f_type != CGROUP2_MAGIC && sf.f_type != CGROUP1_MAGIC) fail("not a cgroup filesystem:", a, EINVAL);
	return fd;
}

/* Removes the run cgroups of earlier runs whose P0 is gone (rmdir fails on a populated one). */
static void cg_sweep(int agent)
{
	int fd = openat(agent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) die("opening cgroup", AGENT_NAME);
	DIR *d = fdopendir(fd);
	if (!d) die("fdopendir", AGENT_NAME);
	for (struct dirent *e; (errno = 0, e = readdir(d));) {
		char *end;
		long pid = strncmp(e->d_name, "run-", 4) == 0 ? strtol(e->d_name + 4, &end, 10) : 0;
		if (pid <= 0 || *end || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
		if (unlinkat(fd, e->d_name, AT_REMOVEDIR) < 0 && errno != EBUSY && errno != ENOENT)
			die("removing cgroup", e->d_name);
	}
	if (errno) die("readdir", AGENT_NAME);
	if (closedir(d) < 0) die("closedir", AGENT_NAME);
}

/* Makes run-<pid> beneath <hierarchy>/agent-as-unix-user/AGENT_NAME with the limits (see top). */
static void cgroup_setup(void)
{
	static const char *const ctrl[CG_N] = { "memory", "cpu", "pids" };
	unsigned long long want[CG_N] = { lim_memory, lim_cpu, lim_pids };
	char v[64], run[32];
	if (!lim_memory && !lim_cpu && !lim_pids) return;
	int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (slash < 0) die("open", "/");
	int root = walk(slash, "sys/fs/cgroup", 0); /* cgroup2, or the tmpfs holding the v1 hierarchies */
	struct statfs sf;
	if (root < 0) die("opening", "/sys/fs/cgroup");
	if (fstatfs(root, &sf) < 0) die("fstatfs", "/sys/fs/cgroup");
	if (sf.f_type != CGROUP2_MAGIC && sf.f_type != TMPFS_MAGIC) fail("no cgroup filesystem at", "/sys/fs/cgroup", EINVAL);
	int v2 = sf.f_type == CGROUP2_MAGIC;
	cg_v1 = !v2;
	snprintf(run, sizeof run, "run-%d", (int)getpid());
	for (int c = 0; c < CG_N; c++) {
		/* v1: the hierarchies a limit needs.  v2: every controller, so a cleared limit is "max". */
		if (!v2 && !want[c]) continue;
		int h = root;
		if (!v2 && (h = cg_open(root, ctrl[c], 0)) < 0 && (c != CG_CPU || (h = cg_open(root, "cpu,cpuacct", 0)) < 0))
			fail("no cgroup v1 hierarchy for", ctrl[c], ENOENT);
		int top = cg_open(h, CG_TOP, 1), agent = cg_open(top, AGENT_NAME, 1);
		if (v2) {
			char plus[16];
			snprintf(plus, sizeof plus, "+%s", ctrl[c]);
			if (cg_write(h, "cgroup.subtree_control", plus) < 0 || cg_write(top, "cgroup.subtree_control", plus) < 0 ||
			    cg_write(agent, "cgroup.subtree_control", plus) < 0) {
				if (want[c]) die("enabling cgroup v2 controller", ctrl[c]);
				goto next; /* not available, and not needed */
			}
		}
		if (c == CG_MEM) {
			snprintf(v, sizeof v, want[c] ? "%llu" : "max", want[c]);
			if (v2) {
				cg_set(agent, "memory.max", v);
				if (cg_write(agent, "memory.swap.max", want[c] ? "0" : "max") < 0 && errno != ENOENT)
					die("writing cgroup file", "memory.swap.max");
			} else if (cg_write(agent, "memory.limit_in_bytes", v) < 0) { /* above memsw: raise that first */
				if (errno != EINVAL) die("writing cgroup file", "memory.limit_in_bytes");
				cg_set(agent, "memory.memsw.limit_in_bytes", v);
				cg_set(agent, "memory.limit_in_bytes", v);
			} else if (cg_write(agent, "memory.memsw.limit_in_bytes", v) < 0 && errno != ENOENT) {
				die("writing cgroup file", "memory.memsw.limit_in_bytes"); /* no swap beyond the limit */
			}
		} else if (c == CG_CPU) {
			if (v2) snprintf(v, sizeof v, want[c] ? "%llu 100000" : "max 100000", want[c] * 1000);
			else cg_set(agent, "cpu.cfs_period_us", "100000");
			if (!v2) snprintf(v, sizeof v, "%llu", want[c] * 1000);
			cg_set(agent, v2 ? "cpu.max" : "cpu.cfs_quota_us", v);
		} else {
			snprintf(v, sizeof v, want[c] ? "%llu" : "max", want[c]);
			cg_set(agent, "pids.max", v);
		}
		if (cg_run[v2 ? 0 : c] < 0) {
			cg_sweep(agent);
			cg_run[v2 ? 0 : c] = cg_open(agent, run, 1);
		}
		if (c == CG_MEM && want[c] && (oom_fd = openat(cg_run[v2 ? 0 : c], v2 ? "memory.events" : "memory.oom_control",
							     O_RDONLY | O_CLOEXEC)) < 0)
			die("opening cgroup file", "memory.events");
	next:
		xclose(agent);
		xclose(top);
		if (h != root) xclose(h);
	}
	xclose(root);
	xclose(slash);
}

/* Phase 5 (P0, root), network policy: the nftables input rules know the agent's sockets by its cgroup v2
 * (made by `au net apply`, never here: a new one would have an id the rules do not know), so the
 * run gets run-<pid> there too; cgroup v2 limits already put it there. */
static void net_cgroup(void)
{
	if (cg_run[0] >= 0 && !cg_v1) return;
	struct statfs sf;
	int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (slash < 0) die("open", "/");
	int root = walk(slash, "sys/fs/cgroup", 0);
	if (root < 0) die("opening", "/sys/fs/cgroup");
	if (fstatfs(root, &sf) < 0) die("fstatfs", "/sys/fs/cgroup");
	int v2 = sf.f_type == CGROUP2_MAGIC ? root : cg_open(root, "unified", 0); /* hybrid hosts */
	if (v2 < 0 || fstatfs(v2, &sf) < 0 || sf.f_type != CGROUP2_MAGIC) fail("network policy: no cgroup v2 at", "/sys/fs/cgroup", ENOENT);
	int top = cg_open(v2, CG_TOP, 0), agent = top < 0 ? -1 : cg_open(top, AGENT_NAME, 0);
	if (agent < 0) fail("network policy not in force (run: au net apply -a " AGENT_NAME "): no cgroup", CG_TOP "/" AGENT_NAME, ENOENT);
	char run[32];
	snprintf(run, sizeof run, "run-%d", (int)getpid());
	cg_sweep(agent);
	cg_net = cg_open(agent, run, 1);
	xclose(agent);
	xclose(top);
	if (v2 != root) xclose(v2);
	xclose(root);
	xclose(slash);
}

/* Phase 5 (P0): forks P1, straight into the network policy's run cgroup when there is one: clone3 with
 * CLONE_INTO_CGROUP does not take the kernel's threadgroup lock for writing as a later write to
 * cgroup.procs would (an RCU grace period, ~7 ms a run).  Kernels before 5.7: fork, and P1 joins
 * in enter_limits. */
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
static pid_t fork_p1(void)
{
	if (cg_net < 0) return fork();
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
	} ca = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cg_net };
	long p = syscall(SYS_clone3, &ca, sizeof ca);
	if (p < 0 && errno != ENOSYS && errno != E2BIG && errno != EINVAL) return -1;
	if (p < 0) return fork();
	xclose(cg_net); /* both sides: P1 is inside already */
	cg_net = -1;
	return (pid_t)p;
}

/* Phase 7 (P1, root): join the run cgroups (also for processes started later by the agent), set
 * rlimits.  v1: "0" into "tasks" moves the calling thread, which is all of P1 (single-threaded); unlike
 * "cgroup.procs" the kernel then skips the global threadgroup lock, whose RCU grace period
 * would cost every run several milliseconds. */
static void enter_limits(void)
{
	for (int c = 0; c < CG_N; c++)
		if (cg_run[c] >= 0) {
			cg_set(cg_run[c], cg_v1 ? "tasks" : "cgroup.procs", "0");
			xclose(cg_run[c]);
		}
	if (cg_net >= 0) {
		cg_set(cg_net, "cgroup.procs", "0");
		xclose(cg_net);
	}
	struct rlimit nofile = { lim_nofile, lim_nofile }, nproc = { lim_pids, lim_pids };
	if (lim_nofile && setrlimit(RLIMIT_NOFILE, &nofile) < 0) die("setrlimit", "RLIMIT_NOFILE");
	if (lim_pids && setrlimit(RLIMIT_NPROC, &nproc) < 0) die("setrlimit", "RLIMIT_NPROC");
}

/* Phase 9 (P1, at the end): say so when the memory limit killed a process of this run. */
static void report_oom(void)
{
	char buf[512];
	ssize_t n = oom_fd < 0 ? 0 : pread(oom_fd, buf, sizeof buf - 1, 0);
	if (n <= 0) return;
	buf[n] = '\0';
	char *k = strstr(buf, "\noom_kill ");
	if (k && strtoul(k + 10, NULL, 10) > 0)
		fprintf(stderr, "su_as_agent: out of memory: a process of the run was killed (memory limit of %s: %llu bytes)\n",
			AGENT_NAME, lim_memory);
}

/* Phase 7, lockdown seeding, as the agent: copies regular files and directories (not symlinks, nor
 * anything else) from the real home into the throw-away one, bounded in depth and size. */
#define SEED_MAX_BYTES (64LL << 20)
static long long seeded;
static void copy_tree(int from, int to, const char *name, int depth);

static void copy_file(int src, int dirfd, const char *name, mode_t mode)
{
	char buf[65536];
	int dst = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
	if (dst < 0) die("seeding", name);
	for (ssize_t n; (n = read(src, buf, sizeof buf)) != 0;) {
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 || (seeded += n) > SEED_MAX_BYTES) fail("seeding (read, or over 64 MiB)", name, n < 0 ? errno : EFBIG);
		if (write(dst, buf, (size_t)n) != n) die("seeding", name);
	}
	xclose(dst);
}

/* Copies the entry name of directory from into directory to. */
static void copy_tree(int from, int to, const char *name, int depth)
{
	struct stat st;
	int src = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (src < 0) return; /* gone, a symlink, or unreadable: not seeded */
	if (fstat(src, &st) < 0) die("fstat", name);
	if (S_ISREG(st.st_mode)) {
		copy_file(src, to, name, st.st_mode);
	} else if (S_ISDIR(st.st_mode) && depth < 16) {
		if (mkdirat(to, name, 0700) < 0 && errno != EEXIST) die("seeding", name);
		int dst = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int list = dup(src);
		DIR *d = list < 0 ? NULL : fdopendir(list);
		if (dst < 0 || !d) die("seeding", name);
		for (struct dirent *e; (errno = 0, e = readdir(d));)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) copy_tree(src, dst, e->d_name, depth + 1);
		if (errno) die("readdir", name);
		if (closedir(d) < 0) die("closedir", name);
		xclose(dst);
	}
	xclose(src);
}

/* Each seed: its parents made in the tmpfs home, then the entry copied from the real home. */
static void seed_home(int home)
{
	for (int k = 0; k < nseeds; k++) {
		char rel[PATH_MAX];
		snprintf(rel, sizeof rel, "%s", seeds[k]); /* validated: fits */
		char *base = strrchr(rel, '/');
		const char *leaf = base ? base + 1 : rel;
		if (base) *base = '\0';
		struct au_open_how how = { O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
		int from = base ? (int)syscall(SYS_openat2, real_home, rel, &how, sizeof how) : dup(real_home);
		if (from < 0) continue; /* no such folder in the real home: nothing to seed */
		int to = base ? walk(home, rel, 1) : dup(home);
		if (to < 0) die("seeding", seeds[k]);
		int fromdir = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fromdir < 0) die("seeding", seeds[k]);
		copy_tree(fromdir, to, leaf, 0);
		xclose(fromdir);
		xclose(from);
		xclose(to);
	}
}

/* Phase 7 (P1): mount targets are created, and the lockdown home seeded, by a child that already
 * is the agent, never by root. */
static void make_targets(void)
{
	pid_t c = fork();
	if (c < 0) die("fork", "target creator");
	if (c == 0) {
		become_agent();
		int home = open(AGENT_HOME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (home < 0) die("open", AGENT_HOME);
		seed_home(home);
		for (int m = 0; m < nmounts; m++) {
			int fd = walk(home, mounts[m].rel, 1);
			if (fd < 0) die("creating mount target", mounts[m].tgt);
			xclose(fd);
		}
		_exit(0);
	}
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR) die("waitpid", "target creator");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(125); /* the child has said why */
}

/* Review shares, phase 7 (P1, root).  The user namespace whose maps idmap both layers:
 * uid 0 -> 0 and caller -> agent (gids alike).  A child unshares it and waits; P1 writes its maps
 * (P1 has CAP_SETUID/CAP_SETGID where the child's namespace was made) and keeps an fd of it. */
static int review_userns(void)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) die("socketpair", "idmap");
	pid_t c = fork();
	if (c < 0) die("fork", "idmap");
	if (c == 0) { /* made, then told, then gone when P1 closes its end */
		char b = 0;
		if (close(sp[0]) < 0 || unshare(CLONE_NEWUSER) < 0 || write(sp[1], &b, 1) != 1) _exit(1);
		while (read(sp[1], &b, 1) > 0) { /* until EOF */ }
		_exit(0);
	}
	xclose(sp[1]);
	char b, path[64], map[96];
	if (read(sp[0], &b, 1) != 1) fail("making the idmap namespace", "(child)", EIO);
	static const char *const files[] = { "uid_map", "gid_map" };
	for (int k = 0; k < 2; k++) {
		int n = snprintf(map, sizeof map, "0 0 1\n%u %u 1\n", k ? (unsigned)caller_gid : (unsigned)caller_uid,
				 k ? (unsigned)AGENT_GID : (unsigned)AGENT_UID);
		snprintf(path, sizeof path, "/proc/%d/%s", (int)c, files[k]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, (size_t)n) != n) die("writing", path);
		xclose(fd);
	}
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)c);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0) die("open", path);
	xclose(sp[0]);
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR) die("waitpid", "idmap");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("making the idmap namespace", "(child)", EIO);
	return ns;
}

/* A detached copy of the mount at fd (that directory as its root), idmapped by ns. */
static int idmapped(int fd, int ns, const char *what)
{
	int m = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (m < 0) die("open_tree", what);
	struct au_mount_attr attr = { MOUNT_ATTR_IDMAP, 0, 0, (uint64_t)ns };
	if (syscall(SYS_mount_setattr, m, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
		die("idmapping (Linux >= 5.19 needed, on a filesystem that supports it)", what);
	return m;
}

/* STAGE, from names only this file and the kernel chose: no symlink in any component, a
 * directory of the caller's, 0700.  Returned locked (shared) for the rest of P1's life. */
static int open_stage(const struct share *s, char *stage, size_t size)
{
	int n = snprintf(stage, size, REVIEW_ROOT "/" AGENT_NAME "/%u-%s", (unsigned)caller_uid, s->key);
	if (n < 0 || (size_t)n >= size) fail("review stage path too long for", s->tgt, ENAMETOOLONG);
	struct au_open_how how = { O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
				   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, stage, &how, sizeof how);
	if (fd < 0) die("opening the review stage (au mount add --review makes it)", stage);
	struct stat st;
	if (fstat(fd, &st) < 0) die("fstat", stage);
	if (!S_ISDIR(st.st_mode) || st.st_uid != caller_uid || (st.st_mode & 07777) != 0700)
		fail("review stage is not the caller's with mode 0700:", stage, EPERM);
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		fail(errno == EWOULDBLOCK ? "its staged changes are being accepted or discarded; try again:" : "flock", stage,
		     errno);
	return fd;
}

/* Review shares, phase 7 (P1, root): the overlay at the target (see top).  upper and work are
 * opened through the idmapped STAGE: seen there as the agent's means owned by the caller. */
static void review_mount(const struct share *s, int sfd, int tfd, int ns)
{
	char stage[PATH_MAX];
	int stfd = open_stage(s, stage, sizeof stage); /* kept open: the lock lasts the run */
	int lower = idmapped(sfd, ns, s->src), staged = idmapped(stfd, ns, stage);
	int layer[2];
	static const char *const names[] = { "upperdir", "workdir" };
	for (int k = 0; k < 2; k++) {
		struct stat st;
		layer[k] = openat(staged, k ? "work" : "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (layer[k] < 0 || fstat(layer[k], &st) < 0) die("opening the review stage's", names[k]);
		if (st.st_uid != AGENT_UID) fail("review stage directory not the caller's:", names[k], EPERM);
	}
	int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0) die("fsopen", "overlay");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, names[0], NULL, layer[0]) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, names[1], NULL, layer[1]) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		die("overlay (Linux >= 6.15 needed: layers passed as O_PATH fds)", s->tgt);
	int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (s->ro ? MOUNT_ATTR_RDONLY : 0));
	if (m < 0) die("fsmount", s->tgt);
	if (syscall(SYS_move_mount, m, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("move_mount", s->tgt);
	int fds[] = { m, fs, layer[1], layer[0], staged, lower };
	for (size_t k = 0; k < sizeof fds / sizeof *fds; k++)
		xclose(fds[k]);
}

/* Phase 7 (P1, root): bind each share, with no path resolution the agent could influence; the
 * source, a path the caller chose, is resolved with the caller's filesystem identity. */
static void do_mounts(void)
{
	struct stat st;
	int ns = -1; /* the idmap, made for the first review share */
	int hfd = open(AGENT_HOME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0) die("open", AGENT_HOME);
	if (fstat(hfd, &st) < 0) die("fstat", AGENT_HOME);
	if (st.st_uid != AGENT_UID) fail("agent home not owned by " AGENT_NAME ":", AGENT_HOME, EPERM);
	for (int m = 0; m < nmounts; m++) {
		const struct share *s = &mounts[m];
		char fdpath[64], real[PATH_MAX];
		/* Source: the opened directory must be exactly SRC (no symlink anywhere) and the caller's. */
		fs_identity(caller_uid, caller_gid);
		int sfd = open(s->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0) die("opening mount source", s->src);
		snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", sfd);
		ssize_t n = readlink(fdpath, real, sizeof real);
		if (n < 0) die("resolving mount source", s->src);
		if ((size_t)n >= sizeof real) fail("resolving mount source", s->src, ENAMETOOLONG);
		real[n] = '\0';
		if (strcmp(real, s->src) != 0) fail("mount source is not its own real path (symlink?)", s->src, ELOOP);
		if (fstat(sfd, &st) < 0) die("fstat", s->src);
		if (st.st_uid != caller_uid) fail("mount source not owned by the caller", s->src, EPERM);
		fs_identity(0, 0);

		/* Target: beneath the agent home, no symlink followed. */
		struct au_open_how how = { O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
					   RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
		int tfd = (int)syscall(SYS_openat2, hfd, s->rel, &how, sizeof how);
		if (tfd < 0 && errno == ENOSYS) tfd = walk(hfd, s->rel, 0);
		if (tfd < 0) die("opening mount target", s->tgt);
		if (s->key) {
			if (ns < 0) ns = review_userns();
			review_mount(s, sfd, tfd, ns);
			xclose(tfd);
			xclose(sfd);
			continue;
		}

		/* Attach fd to fd: clone, set flags on the detached copy, move it onto the target. */
		int mfd = (int)syscall(SYS_open_tree, sfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (mfd < 0) die("open_tree (Linux >= 5.12 needed)", s->src);
		struct au_mount_attr attr = { 0 };
		attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (s->ro ? MOUNT_ATTR_RDONLY : 0);
		if (syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
			die("mount_setattr (Linux >= 5.12 needed)", s->tgt);
		if (syscall(SYS_move_mount, mfd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			die("move_mount", s->tgt);
		xclose(mfd);
		xclose(tfd);
		xclose(sfd);
	}
	if (ns >= 0) xclose(ns);
	xclose(hfd);
}

/* Add "KEY=VALUE", replacing an earlier entry with the same KEY. */
static void env_put(char *kv)
{
	if (!kv) return;
	size_t k = strcspn(kv, "=") + 1;
	for (int i = 0; i < nenv; i++)
		if (strncmp(envv[i], kv, k) == 0) {
			envv[i] = kv;
			return;
		}
	if (nenv >= FIXED_ENV + MAX_ENV) fail("building the environment", "(too many variables)", E2BIG);
	envv[nenv++] = kv;
}

/* Phase 9 (P2): the command. */
__attribute__((noreturn)) static void run_command(char **cmd, int on_pty)
{
	struct sigaction sa = { 0 };
	sigset_t none;
	if (setpgid(0, 0) < 0) die("setpgid", "command");
	sa.sa_handler = SIG_IGN;
	if (on_pty && (sigaction(SIGTTOU, &sa, NULL) < 0 || tcsetpgrp(0, getpid()) < 0))
		die("tcsetpgrp", "stdin");
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && sigaction(s, &sa, NULL) < 0 && errno != EINVAL)
			die("sigaction", "reset to default");
	if (sigemptyset(&none) < 0) die("sigemptyset", "command");
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) die("sigprocmask", "command");
	close_from_3();
	if (chdir(chdir_to) < 0) die("chdir", chdir_to);
	environ = envv; /* execvp searches the PATH of the new environment */
	execvp(cmd[0], cmd);
	int err = errno;
	fprintf(stderr, "su_as_agent: exec %s: %s\n", cmd[0], strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

static void kill_all(int sig) /* every process of the namespace but P1 */
{
	if (kill(-1, sig) < 0 && errno != ESRCH) die("kill", "namespace");
}

static long now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) die("clock_gettime", "monotonic");
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The command's process group (a shell's `fg`), and the command itself should it have left it. */
static void continue_command(pid_t p2)
{
	if ((killpg(p2, SIGCONT) < 0 && errno != ESRCH) || (kill(p2, SIGCONT) < 0 && errno != ESRCH))
		die("kill", "SIGCONT");
}

/* Phase 9 (P1, the agent): the unprivileged init and supervisor of the namespace; job control
 * (stops reported to P0, SIGCONT bytes) is described above run_p0. */
__attribute__((noreturn)) static void supervise(pid_t p2, int ctl, const sigset_t *sigs)
{
	int sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) die("signalfd", "P1");
	long deadline = -1; /* after a forwarded signal: SIGKILL everything at this time */
	int graced = 0;
	for (;;) {
		int timeout = -1;
		if (deadline >= 0) {
			long left = deadline - now_ms();
			if (left > 0) {
				timeout = (int)left;
			} else { /* grace over */
				kill_all(SIGKILL);
				deadline = -1;
			}
		}
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		if (poll(pf, 2, timeout) < 0) {
			if (errno == EINTR) continue;
			die("poll", "P1");
		}
		if (pf[1].revents) {
			unsigned char b[64];
			ssize_t n = read(ctl, b, sizeof b);
			if (n < 0 && errno != EINTR && errno != EAGAIN && errno != ECONNRESET) die("read", "ctl");
			if (n == 0 || (n < 0 && errno == ECONNRESET) || (pf[1].revents & POLLERR)) { /* P0 is gone: so is everything */
				kill_all(SIGKILL);
				_exit(128 + SIGKILL);
			}
			for (ssize_t i = 0; i < n; i++) {
				if (b[i] == SIGCONT) { /* the human's job continued (`fg`): so does the command */
					continue_command(p2);
				} else if (b[i] == SIGTERM || b[i] == SIGINT || b[i] == SIGHUP || b[i] == SIGQUIT) {
					kill_all(b[i]);
					kill_all(SIGCONT); /* a stopped process handles it too */
					if (!graced) {
						graced = 1;
						deadline = now_ms() + P1_GRACE_MS;
					}
				}
			}
		}
		if (pf[0].revents) {
			struct signalfd_siginfo si; /* only SIGCHLD matters; other signals are drained */
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) { /* drain */ }
			if (errno != EAGAIN && errno != EINTR) die("read", "signalfd");
			for (;;) {
				int st;
				pid_t w = waitpid(-1, &st, WNOHANG | WUNTRACED);
				if (w == 0 || (w < 0 && errno == ECHILD)) break;
				if (w < 0 && errno == EINTR) continue;
				if (w < 0) die("waitpid", "namespace");
				if (w != p2) continue; /* an orphan reaped */
				if (WIFSTOPPED(st)) { /* P0 stops the human's job, and says when it continues */
					unsigned char b = SIGTSTP;
					if (send(ctl, &b, 1, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
						die("send", "ctl");
					continue;
				}
				/* The kernel kills and reaps what is left when the namespace's init exits. */
				kill_all(SIGKILL);
				report_oom();
				_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			}
		}
	}
}

/* Phase 4 (P0): these signals stay blocked until P0's handlers are in place, and in P1 for its
 * signalfd. */
static void block_signals(sigset_t *sigs)
{
	static const int blocked[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	if (sigemptyset(sigs) < 0) die("sigemptyset", "blocked signals");
	for (size_t i = 0; i < sizeof blocked / sizeof *blocked; i++)
		if (sigaddset(sigs, blocked[i]) < 0) die("sigaddset", "blocked signals");
	if (sigprocmask(SIG_BLOCK, sigs, NULL) < 0) die("sigprocmask", "block");
}

/* Phase 5 (P0, root): the namespaces P1 is born into.  IPC too: SysV shared memory and message
 * queues are another shared /tmp (A10); the network only in lockdown. */
static void enter_namespaces(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (no_network ? CLONE_NEWNET : 0)) < 0)
		die("unshare", "namespaces");
}

/* Phase 7 (P1, root): in lockdown, a tmpfs over the agent home; the real one stays reachable
 * through real_home for seeding. */
static void lockdown_home(void)
{
	if (nseeds > 0) {
		struct stat st;
		real_home = open(AGENT_HOME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (real_home < 0 || fstat(real_home, &st) < 0) die("open", AGENT_HOME);
		if (st.st_uid != AGENT_UID) fail("agent home not owned by", AGENT_NAME, EPERM);
	}
	if (tmp_home && mount("tmpfs", AGENT_HOME, "tmpfs", MS_NOSUID | MS_NODEV, HOME_TMPFS_OPTIONS) < 0)
		die("mount", AGENT_HOME);
	if (no_network) loopback_up();
}

/* Phase 8 (P1, the agent): die with P0, and notice if it already died before that was armed. */
static void arm_pdeathsig(int ctl)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("prctl", "PR_SET_PDEATHSIG");
	struct pollfd pf = { ctl, POLLIN, 0 };
	if (poll(&pf, 1, 0) < 0) die("poll", "ctl");
	if (pf.revents & (POLLHUP | POLLERR)) _exit(125);
}

/* Phase 9 (P1): the command's environment; the caller's AU_ENV_ pairs may override all but the
 * reserved names (key_ok). */
static void build_environment(void)
{
	char *fixed[FIXED_ENV] = { lang, term, e_home, e_user, e_logname, e_shell, e_path, e_runtime, e_browser };
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		env_put(fixed[i]);
	for (int i = 0; i < nau_env; i++)
		env_put(au_env[i]);
	envv[nenv] = NULL;
}

int main(int argc, char **argv)
{
	/* 1-3 (P0, setuid root): no_new_privs, who calls, what it asks for (nothing privileged yet). */
	no_new_privs();
	identify_caller(argv[0]);
	int cmd = parse(argc, argv);

	/* 4: only fds we open ourselves from here on (whatever the caller leaked, its other PTYs and
	 * sockets, must never reach P1, which becomes the agent); signals held for P0 and P1. */
	int on_pty = getsid(0) == getpid() && isatty(0) && tcgetsid(0) == getpid();
	close_from_3();
	sigset_t sigs;
	block_signals(&sigs);

	/* 5 (root): the network policy in force (and its cgroup), the limits written, the namespaces
	 * made, P1 forked. */
	if (net_policy) net_check();
	cgroup_setup();
	if (net_policy) net_cgroup();
	enter_namespaces();
	int ctl[2]; /* both ways: P0's signals to P1, P1's "the command stopped" to P0 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) die("socketpair", "ctl");
	pid_t p1 = fork_p1();
	if (p1 < 0) die("fork", "namespace init");

	/* 6 (P0): back to the caller for good; forwards signals, waits, exits with P1's status. */
	if (p1 > 0) run_p0(p1, ctl, on_pty);

	/* 7 (P1, root in the new namespaces): limits, private places, lockdown home, shares. */
	xclose(ctl[1]);
	enter_limits();
	if (chdir("/") < 0) die("chdir", "/");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("making mounts private", "/");
	private_places();
	lockdown_home();
	if (nmounts > 0 || nseeds > 0) make_targets();
	if (real_home >= 0) xclose(real_home);
	if (nmounts > 0) do_mounts();

	/* 8: out of the caller's session (unless on au's PTY), the agent, proven, confined; dies with P0. */
	if (!on_pty && setsid() < 0) die("setsid", "agent session");
	record_caller_keyrings();
	become_agent();
	prove_agent();
	landlock_scope();
	seccomp_filter();
	arm_pdeathsig(ctl[0]);

	/* 9: P2 runs the command; P1 supervises the namespace until it ends. */
	build_environment();
	pid_t p2 = fork();
	if (p2 < 0) die("fork", "command");
	if (p2 == 0) run_command(argv + cmd, on_pty);
	supervise(p2, ctl[0], &sigs);
}
