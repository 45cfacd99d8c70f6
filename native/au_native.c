/*
 * The one syscall `au run` needs that Node 20 lacks: execve. On the pipe path `au run` replaces
 * itself with the entrypoint once it has verified it, instead of spawning it and waiting: no
 * child_process machinery at start-up, no Node process left around, and signals sent to `au`
 * reach the entrypoint directly (same pid), which ends the agent's whole process tree.
 * Also SHA-256, isatty and the passwd entry of the user running au, so that the checks before
 * the exec need neither Node's crypto, tty nor os module (each costs on every `au run`).
 * For the session server: SO_PEERCRED (who is on the other end of a Unix socket) and marking
 * every fd close-on-exec before it starts an agent.
 * For shares: the fd-based ACL walk of acl_walk.c (aclWalk).
 * For review shares: flock on the staging directory and fgetxattr (overlayfs keeps its opaque
 * marker in an xattr), both on fds the caller opened without following symlinks.
 */
#define _GNU_SOURCE /* struct ucred */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "acl_walk.h"

/* OpenSSL's digest API, exported by Node itself to addons (statically linked or libcrypto). */
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;
extern const EVP_MD *EVP_sha256(void);
extern int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type,
		      ENGINE *impl);

#define CHECK(env, call)                                                        \
	do {                                                                    \
		if ((call) != napi_ok) {                                        \
			napi_throw_error((env), NULL, "au_native: " #call " failed"); \
			return NULL;                                            \
		}                                                               \
	} while (0)

static char *string_arg(napi_env env, napi_value value)
{
	size_t len;
	if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok)
		return NULL;
	char *s = malloc(len + 1);
	if (s && napi_get_value_string_utf8(env, value, s, len + 1, &len) != napi_ok) {
		free(s);
		return NULL;
	}
	if (s && strlen(s) != len) { /* an embedded NUL would silently cut the string */
		free(s);
		return NULL;
	}
	return s;
}

/* Returns a NULL-terminated vector of the strings in a JS array, or NULL. */
static char **string_vector(napi_env env, napi_value array)
{
	uint32_t n;
	if (napi_get_array_length(env, array, &n) != napi_ok)
		return NULL;
	char **v = calloc((size_t)n + 1, sizeof *v);
	for (uint32_t i = 0; v && i < n; i++) {
		napi_value item;
		if (napi_get_element(env, array, i, &item) != napi_ok || !(v[i] = string_arg(env, item)))
			return NULL; /* leaked: the caller throws and the process is about to exit or exec */
	}
	return v;
}

/* execve(path, argv, envp): returns only by throwing. */
static napi_value Execve(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value args[3];
	CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	if (argc != 3) {
		napi_throw_type_error(env, NULL, "execve(path, argv, envp)");
		return NULL;
	}
	char *path = string_arg(env, args[0]);
	char **argv = string_vector(env, args[1]);
	char **envp = string_vector(env, args[2]);
	if (!path || !argv || !envp) {
		napi_throw_type_error(env, NULL, "execve: arguments must be strings without NUL bytes");
		return NULL;
	}
	/* Node marks its stdio close-on-exec (and may make it non-blocking): hand the new
	 * program plain, blocking fds 0-2 as any shell would. */
	for (int fd = 0; fd <= 2; fd++) {
		int fdflags = fcntl(fd, F_GETFD), flflags = fcntl(fd, F_GETFL);
		if (fdflags < 0 || flflags < 0 || fcntl(fd, F_SETFD, fdflags & ~FD_CLOEXEC) < 0 ||
		    ((flflags & O_NONBLOCK) && fcntl(fd, F_SETFL, flflags & ~O_NONBLOCK) < 0)) {
			napi_throw_error(env, strerror(errno), "execve: cannot prepare fds 0-2");
			return NULL;
		}
	}
	execve(path, argv, envp);
	napi_throw_error(env, strerror(errno), "execve failed");
	return NULL;
}

/* landlockAbi(): the kernel's Landlock ABI version (au doctor: the entrypoint's scoping needs 6),
 * 0 when Landlock is missing or disabled.  landlock_create_ruleset(NULL, 0, VERSION) is 444 on every
 * architecture. */
static napi_value LandlockAbi(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value result;
	long abi = syscall(444, NULL, 0, 1);
	CHECK(env, napi_create_int32(env, abi < 0 ? 0 : (int32_t)abi, &result));
	return result;
}

static napi_value IsATTY(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arg, result;
	int32_t fd;
	CHECK(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
	CHECK(env, napi_get_value_int32(env, arg, &fd));
	CHECK(env, napi_get_boolean(env, isatty(fd) == 1, &result));
	return result;
}

/* passwd(): {name, uid, gid, home} of the effective uid's passwd entry (os.userInfo reads the
 * same, through libuv), so that au need not load Node's os module to know who runs it. */
static napi_value Passwd(napi_env env, napi_callback_info info)
{
	(void)info;
	struct passwd entry, *found = NULL;
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 4096;
	char *buf = NULL;
	int error;
	for (;;) { /* ERANGE: the entry does not fit, retry with a bigger buffer */
		char *bigger = realloc(buf, size);
		if (!bigger) {
			error = ENOMEM;
			break;
		}
		buf = bigger;
		error = getpwuid_r(geteuid(), &entry, buf, size, &found);
		if (error != ERANGE || size >= (1 << 20))
			break;
		size *= 2;
	}
	if (error != 0 || !found) {
		free(buf);
		napi_throw_error(env, NULL, error != 0 ? strerror(error) : "no passwd entry for this uid");
		return NULL;
	}
	napi_value result, value;
	bool ok = napi_create_object(env, &result) == napi_ok &&
		  napi_create_string_utf8(env, entry.pw_name, NAPI_AUTO_LENGTH, &value) == napi_ok &&
		  napi_set_named_property(env, result, "name", value) == napi_ok &&
		  napi_create_int64(env, (int64_t)entry.pw_uid, &value) == napi_ok &&
		  napi_set_named_property(env, result, "uid", value) == napi_ok &&
		  napi_create_int64(env, (int64_t)entry.pw_gid, &value) == napi_ok &&
		  napi_set_named_property(env, result, "gid", value) == napi_ok &&
		  napi_create_string_utf8(env, entry.pw_dir, NAPI_AUTO_LENGTH, &value) == napi_ok &&
		  napi_set_named_property(env, result, "home", value) == napi_ok;
	free(buf);
	if (!ok) {
		napi_throw_error(env, NULL, "passwd: cannot build the result");
		return NULL;
	}
	return result;
}

/* sha256(buffer): lowercase hex digest. */
static napi_value Sha256(napi_env env, napi_callback_info info)
{
	size_t argc = 1, len;
	napi_value arg, result;
	void *data;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65];
	CHECK(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
	CHECK(env, napi_get_buffer_info(env, arg, &data, &len));
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof md) {
		napi_throw_error(env, NULL, "sha256 failed");
		return NULL;
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	CHECK(env, napi_create_string_latin1(env, hex, 64, &result));
	return result;
}

/*
 * peerCredentials(fd): {pid, uid, gid} of the process at the other end of a connected Unix
 * socket, as the kernel recorded them at connect() (SO_PEERCRED); they cannot be forged by
 * the peer. The session server's roles rest on this.
 */
static napi_value PeerCredentials(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arg, result, value;
	int32_t fd;
	struct ucred cred;
	socklen_t len = sizeof cred;
	CHECK(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
	CHECK(env, napi_get_value_int32(env, arg, &fd));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
		napi_throw_error(env, NULL, "getsockopt(SO_PEERCRED) failed");
		return NULL;
	}
	CHECK(env, napi_create_object(env, &result));
	CHECK(env, napi_create_int64(env, (int64_t)cred.pid, &value));
	CHECK(env, napi_set_named_property(env, result, "pid", value));
	CHECK(env, napi_create_int64(env, (int64_t)cred.uid, &value));
	CHECK(env, napi_set_named_property(env, result, "uid", value));
	CHECK(env, napi_create_int64(env, (int64_t)cred.gid, &value));
	CHECK(env, napi_set_named_property(env, result, "gid", value));
	return result;
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/*
 * closeOnExecFrom(fd): marks every descriptor >= fd close-on-exec, so that no program this
 * process starts inherits one (node-pty's PTY master is not close-on-exec; neither is what a
 * parent may have leaked to us). close_range(CLOSE_RANGE_CLOEXEC), else /proc/self/fd.
 */
static napi_value CloseOnExecFrom(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arg;
	int32_t from;
	CHECK(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
	CHECK(env, napi_get_value_int32(env, arg, &from));
	if (from < 0) {
		napi_throw_range_error(env, NULL, "closeOnExecFrom: negative fd");
		return NULL;
	}
	if (syscall(SYS_close_range, (unsigned int)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return NULL;
	DIR *dir = opendir("/proc/self/fd");
	if (!dir) {
		napi_throw_error(env, NULL, "closeOnExecFrom: cannot open /proc/self/fd");
		return NULL;
	}
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		char *end;
		long fd = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || end == entry->d_name || fd < from || fd == dirfd(dir))
			continue;
		int flags = fcntl((int)fd, F_GETFD);
		if (flags >= 0)
			fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
	}
	closedir(dir);
	return NULL;
}

/* The errno names callers act on (what a missing or swapped share root gives). */
static const char *errno_code(int err)
{
	switch (err) {
	case ENOENT: return "ENOENT";
	case ELOOP: return "ELOOP";
	case ENOTDIR: return "ENOTDIR";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	default: return "EIO";
	}
}

static int uint32_prop(napi_env env, napi_value obj, const char *name, uint32_t *out)
{
	napi_value v;
	return napi_get_named_property(env, obj, name, &v) == napi_ok && napi_get_value_uint32(env, v, out) == napi_ok;
}

static napi_value string_list(napi_env env, const struct acl_paths *paths)
{
	napi_value array, s;
	if (napi_create_array_with_length(env, paths->stored, &array) != napi_ok)
		return NULL;
	for (size_t i = 0; i < paths->stored; i++)
		if (napi_create_string_utf8(env, paths->item[i], NAPI_AUTO_LENGTH, &s) != napi_ok ||
		    napi_set_element(env, array, (uint32_t)i, s) != napi_ok)
			return NULL;
	return array;
}

static int set_count(napi_env env, napi_value obj, const char *name, size_t n)
{
	napi_value v;
	return napi_create_int64(env, (int64_t)n, &v) == napi_ok && napi_set_named_property(env, obj, name, v) == napi_ok;
}

/*
 * aclWalk(root, {owner, set: [{uid, perm, isDefault}], remove: [uid], removeGroups: [gid],
 * regroup?: {from, to}}): the walk of acl_walk.c.
 * Returns {directories, files, changed, regrouped, unreadable, unreadableCount, failed, failedCount,
 * linked, linkedCount} (every path whole);
 * throws an Error with `code` (ELOOP, ENOENT, EPERM, ...) when ROOT cannot be opened safely.
 */
static napi_value AclWalk(napi_env env, napi_callback_info info)
{
	static struct acl_request req;
	static struct acl_report report;
	size_t argc = 2;
	napi_value args[2], list, item, result, value;
	uint32_t n;
	CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	char *root = argc == 2 ? string_arg(env, args[0]) : NULL;
	memset(&req, 0, sizeof req);
	int ok = root && uint32_prop(env, args[1], "owner", &req.owner);
	ok = ok && napi_get_named_property(env, args[1], "set", &list) == napi_ok && napi_get_array_length(env, list, &n) == napi_ok && n <= ACL_MAX_GRANTS;
	for (uint32_t i = 0; ok && i < n; i++) {
		uint32_t perm, is_default;
		ok = napi_get_element(env, list, i, &item) == napi_ok && uint32_prop(env, item, "uid", &req.set[i].uid) &&
		     uint32_prop(env, item, "perm", &perm) && perm <= 15 && uint32_prop(env, item, "isDefault", &is_default);
		req.set[i].perm = (uint16_t)perm;
		req.set[i].is_default = is_default != 0;
		req.n_set = i + 1;
	}
	ok = ok && napi_get_named_property(env, args[1], "remove", &list) == napi_ok && napi_get_array_length(env, list, &n) == napi_ok && n <= ACL_MAX_GRANTS;
	for (uint32_t i = 0; ok && i < n; i++) {
		ok = napi_get_element(env, list, i, &item) == napi_ok && napi_get_value_uint32(env, item, &req.remove[i]) == napi_ok;
		req.n_remove = i + 1;
	}
	ok = ok && napi_get_named_property(env, args[1], "removeGroups", &list) == napi_ok && napi_get_array_length(env, list, &n) == napi_ok && n <= ACL_MAX_GRANTS;
	for (uint32_t i = 0; ok && i < n; i++) {
		ok = napi_get_element(env, list, i, &item) == napi_ok && napi_get_value_uint32(env, item, &req.remove_groups[i]) == napi_ok;
		req.n_remove_groups = i + 1;
	}
	bool has_regroup = false;
	ok = ok && napi_has_named_property(env, args[1], "regroup", &has_regroup) == napi_ok;
	if (ok && has_regroup) {
		ok = napi_get_named_property(env, args[1], "regroup", &item) == napi_ok && uint32_prop(env, item, "from", &req.regroup_from) &&
		     uint32_prop(env, item, "to", &req.regroup_to);
		req.regroup = 1;
	}
	if (!ok) {
		free(root);
		napi_throw_type_error(env, NULL, "aclWalk(root, {owner, set: [{uid, perm, isDefault}], remove: [uid], removeGroups: [gid], regroup?: {from, to}})");
		return NULL;
	}
	int rc = acl_walk(root, &req, &report);
	int err = errno;
	free(root);
	if (rc != 0) {
		napi_value code, message, error;
		CHECK(env, napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code));
		CHECK(env, napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message));
		CHECK(env, napi_create_error(env, code, message, &error));
		napi_throw(env, error);
		return NULL;
	}
	CHECK(env, napi_create_object(env, &result));
	if (!set_count(env, result, "directories", report.directories) || !set_count(env, result, "files", report.files) ||
	    !set_count(env, result, "changed", report.changed) || !set_count(env, result, "regrouped", report.regrouped) || !set_count(env, result, "unreadableCount", report.unreadable.n) ||
	    !set_count(env, result, "failedCount", report.failed.n) || !set_count(env, result, "linkedCount", report.linked.n) ||
	    !(value = string_list(env, &report.unreadable)) || napi_set_named_property(env, result, "unreadable", value) != napi_ok ||
	    !(value = string_list(env, &report.failed)) || napi_set_named_property(env, result, "failed", value) != napi_ok ||
	    !(value = string_list(env, &report.linked)) || napi_set_named_property(env, result, "linked", value) != napi_ok) {
		acl_report_free(&report);
		napi_throw_error(env, NULL, "aclWalk: cannot build the report");
		return NULL;
	}
	acl_report_free(&report);
	return result;
}

/* flock(fd, exclusive): takes a shared or exclusive lock without waiting; false when another
 * holds a conflicting one. The lock goes with the fd (closing it releases it). */
static napi_value Flock(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value args[2], result;
	int32_t fd;
	bool exclusive;
	CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	CHECK(env, napi_get_value_int32(env, args[0], &fd));
	CHECK(env, napi_get_value_bool(env, args[1], &exclusive));
	int rc;
	do
		rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
	while (rc != 0 && errno == EINTR);
	if (rc != 0 && errno != EWOULDBLOCK) {
		napi_throw_error(env, errno_code(errno), strerror(errno));
		return NULL;
	}
	CHECK(env, napi_get_boolean(env, rc == 0, &result));
	return result;
}

/* fgetxattr(fd, name): the attribute's bytes, or null when the file has none of that name. */
static napi_value Fgetxattr(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value args[2], result;
	int32_t fd;
	char value[256];
	CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	CHECK(env, napi_get_value_int32(env, args[0], &fd));
	char *name = string_arg(env, args[1]);
	if (!name) {
		napi_throw_type_error(env, NULL, "fgetxattr(fd, name)");
		return NULL;
	}
	ssize_t n = fgetxattr(fd, name, value, sizeof value);
	int err = errno;
	free(name);
	if (n < 0 && (err == ENODATA || err == ENOTSUP)) {
		CHECK(env, napi_get_null(env, &result));
		return result;
	}
	if (n < 0) {
		napi_throw_error(env, errno_code(err), strerror(err));
		return NULL;
	}
	CHECK(env, napi_create_buffer_copy(env, (size_t)n, value, NULL, &result));
	return result;
}

/* seekData(fd, offset, hole): lseek SEEK_DATA (SEEK_HOLE when hole) from offset; -1 past the
 * last data (ENXIO). Copying a sparse file data segment by data segment keeps its holes. */
static napi_value SeekData(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value args[3], result;
	int32_t fd;
	int64_t offset;
	bool hole;
	CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
	CHECK(env, napi_get_value_int32(env, args[0], &fd));
	CHECK(env, napi_get_value_int64(env, args[1], &offset));
	CHECK(env, napi_get_value_bool(env, args[2], &hole));
	off_t at = lseek(fd, (off_t)offset, hole ? SEEK_HOLE : SEEK_DATA);
	if (at < 0 && errno == ENXIO) {
		CHECK(env, napi_create_int64(env, -1, &result));
		return result;
	}
	if (at < 0) {
		int err = errno;
		napi_throw_error(env, errno_code(err), strerror(err));
		return NULL;
	}
	CHECK(env, napi_create_int64(env, (int64_t)at, &result));
	return result;
}

NAPI_MODULE_INIT()
{
	napi_value fn;
	if (napi_create_function(env, "execve", NAPI_AUTO_LENGTH, Execve, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "execve", fn) != napi_ok ||
	    napi_create_function(env, "landlockAbi", NAPI_AUTO_LENGTH, LandlockAbi, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "landlockAbi", fn) != napi_ok ||
	    napi_create_function(env, "isatty", NAPI_AUTO_LENGTH, IsATTY, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "isatty", fn) != napi_ok ||
	    napi_create_function(env, "passwd", NAPI_AUTO_LENGTH, Passwd, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "passwd", fn) != napi_ok ||
	    napi_create_function(env, "sha256", NAPI_AUTO_LENGTH, Sha256, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "sha256", fn) != napi_ok ||
	    napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, PeerCredentials, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok ||
	    napi_create_function(env, "closeOnExecFrom", NAPI_AUTO_LENGTH, CloseOnExecFrom, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "closeOnExecFrom", fn) != napi_ok ||
	    napi_create_function(env, "aclWalk", NAPI_AUTO_LENGTH, AclWalk, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "aclWalk", fn) != napi_ok ||
	    napi_create_function(env, "flock", NAPI_AUTO_LENGTH, Flock, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "flock", fn) != napi_ok ||
	    napi_create_function(env, "fgetxattr", NAPI_AUTO_LENGTH, Fgetxattr, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "fgetxattr", fn) != napi_ok ||
	    napi_create_function(env, "seekData", NAPI_AUTO_LENGTH, SeekData, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "seekData", fn) != napi_ok)
		return NULL;
	return exports;
}
