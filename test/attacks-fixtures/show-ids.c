/*
 * Prints the real, effective and saved uid/gid it runs with: "ruid=R euid=E suid=S rgid=... egid=...".
 * Installed setuid by the attack tests, it shows whether the setuid bit took effect
 * (threats A6 and A8: no_new_privs and nosuid must make it a no-op inside `au run`).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0) {
		perror("getresuid");
		return 1;
	}
	printf("ruid=%u euid=%u suid=%u rgid=%u egid=%u sgid=%u\n", r, e, s, gr, ge, gs);
	return 0;
}
