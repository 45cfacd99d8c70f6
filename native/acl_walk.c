/*
 * The one walk au makes over a tree the agent may write: granting and revoking the ACL entries
 * of a share (A21). It never follows a symlink and never looks a name up twice:
 *  - the share root is opened one component at a time from "/" with O_NOFOLLOW, each checked
 *    to be a directory by fstat, so a component swapped for a symlink stops the walk;
 *  - every entry below is opened relative to its parent's fd with O_PATH|O_NOFOLLOW (no open
 *    of a device or FIFO ever happens), classified by fstat on that fd, and a directory is
 *    re-opened from that very fd ("." relative to it) to read it;
 *  - ACLs are read and written on the inode behind the fd: f*xattr on directory fds, and for
 *    files through /proc/self/fd/N (the kernel's link to the fd's own inode; O_PATH fds have
 *    no f*xattr), so a file that is not readable by its owner is still handled;
 *  - only directories and regular files owned by `owner` are changed; every directory is
 *    descended (the agent's own folders may hold files of the human's), and a directory that
 *    cannot be read is reported, never skipped silently;
 *  - a regular file with other hard links is granted read but never write (its other names may
 *    be outside the share: a local `git clone` links .git/objects), and is reported;
 *  - every path reported is kept whole (allocated), never cut.
 * The ACL is edited in the kernel's binary form (system.posix_acl_access/_default): existing
 * entries are kept, the mask is recomputed from the group class as setfacl does, and a default
 * ACL made from nothing starts from the access ACL's base entries, as setfacl does.
 */
#define _GNU_SOURCE
#include "acl_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20
#define ACL_XATTR_VERSION 2
#define UNDEFINED_ID 0xffffffffu
#define MAX_ENTRIES 4096

static const char ACCESS[] = "system.posix_acl_access";
static const char DEFAULT[] = "system.posix_acl_default";

struct entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

struct acl {
	size_t n;
	struct entry e[MAX_ENTRIES];
};

/* Reads and writes the ACL of one inode, by fd (directories) or by its /proc/self/fd link. */
struct target {
	int fd;
	int by_proc;
	char proc[40];
};

static ssize_t target_get(const struct target *t, const char *name, void *buf, size_t size)
{
	return t->by_proc ? getxattr(t->proc, name, buf, size) : fgetxattr(t->fd, name, buf, size);
}

static int target_set(const struct target *t, const char *name, const void *buf, size_t size)
{
	return t->by_proc ? setxattr(t->proc, name, buf, size, 0) : fsetxattr(t->fd, name, buf, size, 0);
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* 1 when read, 0 when there is no such ACL, -1 on error (errno set). */
static int acl_read(const struct target *t, const char *name, struct acl *acl)
{
	static unsigned char buf[4 + 8 * MAX_ENTRIES];
	ssize_t len = target_get(t, name, buf, sizeof buf);
	acl->n = 0;
	if (len < 0)
		return errno == ENODATA ? 0 : -1;
	if (len < 4 || (len - 4) % 8 != 0 || le32(buf) != ACL_XATTR_VERSION) {
		errno = EINVAL;
		return -1;
	}
	for (const unsigned char *p = buf + 4; p < buf + len; p += 8) {
		acl->e[acl->n].tag = le16(p);
		acl->e[acl->n].perm = le16(p + 2);
		acl->e[acl->n].id = le32(p + 4);
		acl->n++;
	}
	return 1;
}

static int entry_order(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int acl_write(const struct target *t, const char *name, const struct acl *acl)
{
	static unsigned char buf[4 + 8 * MAX_ENTRIES];
	unsigned char *p = buf;
	uint32_t version = ACL_XATTR_VERSION;
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(version >> (8 * i));
	for (size_t k = 0; k < acl->n; k++) {
		const struct entry *e = &acl->e[k];
		*p++ = (unsigned char)e->tag, *p++ = (unsigned char)(e->tag >> 8);
		*p++ = (unsigned char)e->perm, *p++ = (unsigned char)(e->perm >> 8);
		for (int i = 0; i < 4; i++)
			*p++ = (unsigned char)(e->id >> (8 * i));
	}
	return target_set(t, name, buf, (size_t)(p - buf));
}

static struct entry *acl_find(struct acl *acl, uint16_t tag, uint32_t id)
{
	for (size_t k = 0; k < acl->n; k++)
		if (acl->e[k].tag == tag && ((tag != TAG_USER && tag != TAG_GROUP) || acl->e[k].id == id))
			return &acl->e[k];
	return NULL;
}

static void acl_base_from_mode(struct acl *acl, mode_t mode)
{
	acl->n = 3;
	acl->e[0] = (struct entry){TAG_USER_OBJ, (uint16_t)((mode >> 6) & 7), UNDEFINED_ID};
	acl->e[1] = (struct entry){TAG_GROUP_OBJ, (uint16_t)((mode >> 3) & 7), UNDEFINED_ID};
	acl->e[2] = (struct entry){TAG_OTHER, (uint16_t)(mode & 7), UNDEFINED_ID};
}

/* The mask becomes the union of the group class; with no named entry it is not needed. */
static void acl_recompute_mask(struct acl *acl)
{
	uint16_t union_perm = 0;
	int named = 0;
	for (size_t k = 0; k < acl->n; k++) {
		uint16_t tag = acl->e[k].tag;
		if (tag == TAG_USER || tag == TAG_GROUP)
			named = 1;
		if (tag == TAG_USER || tag == TAG_GROUP || tag == TAG_GROUP_OBJ)
			union_perm |= acl->e[k].perm;
	}
	struct entry *mask = acl_find(acl, TAG_MASK, 0);
	if (named && mask)
		mask->perm = union_perm;
	else if (named && acl->n < MAX_ENTRIES)
		acl->e[acl->n++] = (struct entry){TAG_MASK, union_perm, UNDEFINED_ID};
	else if (!named && mask)
		*mask = acl->e[--acl->n];
	qsort(acl->e, acl->n, sizeof acl->e[0], entry_order);
}

/* setfacl's test for X: some entry of the file's ACL, as it was, grants execute. */
static int acl_any_execute(const struct acl *acl)
{
	for (size_t k = 0; k < acl->n; k++)
		if (acl->e[k].perm & 1)
			return 1;
	return 0;
}

static int acl_equal(const struct acl *a, const struct acl *b)
{
	return a->n == b->n && memcmp(a->e, b->e, a->n * sizeof a->e[0]) == 0;
}

/* Applies the request to one ACL; returns whether it changed. Perm bit 8 is setfacl's X. */
static int acl_apply(struct acl *acl, const struct acl_request *req, int is_default, int x_allowed, int read_only)
{
	static struct acl before;
	before = *acl;
	for (size_t r = 0; r < req->n_remove; r++) {
		struct entry *e;
		while ((e = acl_find(acl, TAG_USER, req->remove[r])))
			*e = acl->e[--acl->n];
	}
	for (size_t r = 0; r < req->n_remove_groups; r++) {
		struct entry *e;
		while ((e = acl_find(acl, TAG_GROUP, req->remove_groups[r])))
			*e = acl->e[--acl->n];
	}
	for (size_t s = 0; s < req->n_set; s++) {
		const struct acl_grant *g = &req->set[s];
		if (g->is_default != is_default)
			continue;
		uint16_t perm = (uint16_t)(g->perm & 7);
		if ((g->perm & ACL_PERM_X) && x_allowed)
			perm |= 1;
		if (read_only)
			perm &= (uint16_t)~2u;
		struct entry *e = acl_find(acl, TAG_USER, g->uid);
		if (e)
			e->perm = perm;
		else if (acl->n < MAX_ENTRIES)
			acl->e[acl->n++] = (struct entry){TAG_USER, perm, g->uid};
	}
	acl_recompute_mask(acl);
	qsort(before.e, before.n, sizeof before.e[0], entry_order);
	return !acl_equal(&before, acl);
}

struct walk {
	const struct acl_request *req;
	struct acl_report *report;
	char path[PATH_MAX];
};

static void paths_add(struct acl_paths *paths, char *path)
{
	paths->n++;
	if (!path)
		return;
	if (paths->stored == paths->cap) {
		size_t cap = paths->cap ? paths->cap * 2 : 16;
		char **grown = realloc(paths->item, cap * sizeof *grown);
		if (!grown) {
			free(path);
			return;
		}
		paths->item = grown;
		paths->cap = cap;
	}
	paths->item[paths->stored++] = path;
}

static void paths_free(struct acl_paths *paths)
{
	for (size_t i = 0; i < paths->stored; i++)
		free(paths->item[i]);
	free(paths->item);
	memset(paths, 0, sizeof *paths);
}

void acl_report_free(struct acl_report *report)
{
	paths_free(&report->unreadable);
	paths_free(&report->failed);
	paths_free(&report->linked);
}

/* Every path is kept whole: a path cut short would name a folder that does not exist. */
static void note(struct acl_report *report, int failed, const char *path, int err)
{
	char *line = NULL;
	if (failed) {
		if (asprintf(&line, "%s (%s)", path, strerror(err)) < 0)
			line = NULL;
		paths_add(&report->failed, line);
	} else
		paths_add(&report->unreadable, strdup(path));
}

static int has_default_grant(const struct acl_request *req)
{
	for (size_t s = 0; s < req->n_set; s++)
		if (req->set[s].is_default)
			return 1;
	return 0;
}

/* The access ACL, and for a directory the default ACL, of one inode of the owner's. */
static void change_acls(struct walk *w, const struct target *t, const struct stat *st)
{
	static struct acl access, deflt;
	int is_dir = S_ISDIR(st->st_mode);
	int had = acl_read(t, ACCESS, &access);
	if (had < 0) {
		note(w->report, 1, w->path, errno);
		return;
	}
	if (had == 0)
		acl_base_from_mode(&access, st->st_mode);
	int changed = 0;
	if (is_dir) {
		int had_default = acl_read(t, DEFAULT, &deflt);
		if (had_default < 0) {
			note(w->report, 1, w->path, errno);
			return;
		}
		if (had_default || has_default_grant(w->req)) {
			if (!had_default) { /* setfacl starts a new default ACL from the access ACL's base entries */
				deflt.n = 0;
				for (size_t k = 0; k < access.n; k++)
					if (access.e[k].tag == TAG_USER_OBJ || access.e[k].tag == TAG_GROUP_OBJ || access.e[k].tag == TAG_OTHER)
						deflt.e[deflt.n++] = access.e[k];
			}
			if (acl_apply(&deflt, w->req, 1, 1, 0) || !had_default) {
				if (acl_write(t, DEFAULT, &deflt) != 0) {
					note(w->report, 1, w->path, errno);
					return;
				}
				changed = 1;
			}
		}
	}
	/* A file with other hard links: its other names may be outside the share (A8). */
	int linked = !is_dir && st->st_nlink > 1;
	if (linked && w->req->n_set > 0)
		paths_add(&w->report->linked, strdup(w->path));
	if (acl_apply(&access, w->req, 0, is_dir || acl_any_execute(&access), linked)) {
		/* An access ACL of base entries only is stored by the kernel as the mode alone. */
		if (acl_write(t, ACCESS, &access) != 0) {
			note(w->report, 1, w->path, errno);
			return;
		}
		changed = 1;
	}
	if (changed)
		w->report->changed++;
}

static void walk_dir(struct walk *w, int dfd, const struct stat *st);

/* An inode of the owner's in group regroup_from moves to regroup_to; a folder loses setgid. */
static void regroup(struct walk *w, const struct target *t, int is_dir)
{
	int fd = t->fd;
	struct stat st;
	if (!w->req->regroup || fstat(fd, &st) != 0 || st.st_gid != w->req->regroup_from)
		return;
	if (fchownat(fd, "", (uid_t)-1, w->req->regroup_to, AT_EMPTY_PATH) != 0) {
		note(w->report, 1, w->path, errno);
		return;
	}
	/* fstat again: the ACL change may have moved the group bits (the mask). */
	if (is_dir && fstat(fd, &st) == 0 && (st.st_mode & S_ISGID)) {
		mode_t mode = st.st_mode & 07777 & ~(mode_t)S_ISGID;
		if ((t->by_proc ? chmod(t->proc, mode) : fchmod(fd, mode)) != 0)
			note(w->report, 1, w->path, errno);
	}
	w->report->regrouped++;
}

/* One entry of a directory, by name relative to the directory's fd. */
static void walk_entry(struct walk *w, int parent, const char *name)
{
	size_t len = strlen(w->path);
	if (len + 1 + strlen(name) >= sizeof w->path) {
		note(w->report, 1, w->path, ENAMETOOLONG);
		return;
	}
	snprintf(w->path + len, sizeof w->path - len, "/%s", name);
	int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		if (errno != ENOENT) /* gone since it was listed: nothing to change there */
			note(w->report, 1, w->path, errno);
	} else if (fstat(fd, &st) != 0) {
		note(w->report, 1, w->path, errno);
	} else if (S_ISDIR(st.st_mode)) {
		int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			close(fd); /* one fd per level while descending */
			fd = -1;
			walk_dir(w, dfd, &st);
			close(dfd);
		} else if (errno == EACCES) {
			/* Not listable: its own ACL is still changed (by its link), what is inside is reported. */
			note(w->report, 0, w->path, errno);
			if (st.st_uid == w->req->owner) {
				struct target t = {fd, 1, ""};
				snprintf(t.proc, sizeof t.proc, "/proc/self/fd/%d", fd);
				change_acls(w, &t, &st);
				regroup(w, &t, 1);
				w->report->directories++;
			}
		} else
			note(w->report, 1, w->path, errno);
	} else if (S_ISREG(st.st_mode) && st.st_uid == w->req->owner) {
		struct target t = {fd, 1, ""};
		snprintf(t.proc, sizeof t.proc, "/proc/self/fd/%d", fd);
		change_acls(w, &t, &st);
		regroup(w, &t, 0);
		w->report->files++;
	}
	if (fd >= 0)
		close(fd);
	w->path[len] = '\0';
}

static void walk_dir(struct walk *w, int dfd, const struct stat *st)
{
	if (st->st_uid == w->req->owner) {
		struct target t = {dfd, 0, ""};
		change_acls(w, &t, st);
		regroup(w, &t, 1);
		w->report->directories++;
	}
	int listfd = dup(dfd); /* closedir closes its fd; ours stays for the openat calls */
	DIR *dir = listfd < 0 ? NULL : fdopendir(listfd);
	if (!dir) {
		note(w->report, 1, w->path, errno);
		if (listfd >= 0)
			close(listfd);
		return;
	}
	struct dirent *d;
	errno = 0;
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		walk_entry(w, dfd, d->d_name);
		errno = 0;
	}
	if (errno != 0)
		note(w->report, 1, w->path, errno);
	closedir(dir);
}

/*
 * Opens ROOT (absolute) from "/" one component at a time, never following a symlink; returns
 * a readable directory fd, or -1 with errno (ELOOP/ENOTDIR when a component is not a plain
 * directory).
 */
static int open_root(const char *root)
{
	if (root[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	char *copy = strdup(root);
	if (!copy)
		return -1;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); fd >= 0 && part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0) {
			close(fd);
			fd = -1;
			errno = EINVAL;
			break;
		}
		int next = openat(fd, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (next >= 0 && fstat(next, &st) == 0 && !S_ISDIR(st.st_mode)) {
			close(next);
			next = -1;
			errno = ELOOP;
		}
		int saved = errno;
		close(fd);
		errno = saved;
		fd = next;
	}
	free(copy);
	if (fd < 0)
		return -1;
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int saved = errno;
	close(fd);
	errno = saved;
	return dfd;
}

int acl_walk(const char *root, const struct acl_request *req, struct acl_report *report)
{
	static struct walk w;
	acl_report_free(report);
	memset(report, 0, sizeof *report);
	int fd = open_root(root);
	if (fd < 0)
		return -1;
	struct stat st;
	int bad = fstat(fd, &st) != 0 ? errno : st.st_uid != req->owner ? EPERM : 0;
	if (bad) {
		close(fd);
		errno = bad;
		return -1;
	}
	w.req = req;
	w.report = report;
	snprintf(w.path, sizeof w.path, "%s", root);
	size_t len = strlen(w.path);
	while (len > 1 && w.path[len - 1] == '/')
		w.path[--len] = '\0';
	walk_dir(&w, fd, &st);
	close(fd);
	return 0;
}
