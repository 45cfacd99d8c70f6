/* The fd-based walk that grants and revokes a share's ACL entries (see acl_walk.c). */
#ifndef AU_ACL_WALK_H
#define AU_ACL_WALK_H
#include <stddef.h>
#include <stdint.h>

#define ACL_PERM_X 8 /* setfacl's X: execute only on directories and files someone may execute */
#define ACL_MAX_GRANTS 8

struct acl_grant {
	uint32_t uid;
	uint16_t perm; /* 4 r, 2 w, 1 x, ACL_PERM_X */
	int is_default;
};

struct acl_request {
	uint32_t owner; /* only inodes owned by this uid are changed */
	struct acl_grant set[ACL_MAX_GRANTS];
	size_t n_set;
	uint32_t remove[ACL_MAX_GRANTS]; /* user entries removed from access and default ACLs */
	size_t n_remove;
	uint32_t remove_groups[ACL_MAX_GRANTS]; /* group entries removed from access and default ACLs */
	size_t n_remove_groups;
	/* When set: inodes in group regroup_from move to regroup_to, and such folders lose setgid
	 * (the Python tool's shares: group su-as-NAME, setgid folders). */
	int regroup;
	uint32_t regroup_from, regroup_to;
};

/* Paths, each whole (malloc'd); n counts every one noted, even one that could not be stored. */
struct acl_paths {
	size_t n, stored, cap;
	char **item;
};

struct acl_report {
	size_t directories, files, changed, regrouped;
	/* Directories that could not be listed (EACCES), and anything else that failed. */
	struct acl_paths unreadable, failed;
	/* Regular files with other hard links (st_nlink > 1): granted read only, never write, since
	 * their other names may be outside the share (a local `git clone` links .git/objects). */
	struct acl_paths linked;
};

/* Frees the paths of a report (the walk frees those of the previous report itself). */
void acl_report_free(struct acl_report *report);

/* 0 when the walk ran (see the report), -1 with errno when ROOT could not be opened safely. */
int acl_walk(const char *root, const struct acl_request *req, struct acl_report *report);
#endif
