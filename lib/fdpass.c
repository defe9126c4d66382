/*
 * fdpass.c — bytes and open descriptors over a Unix stream socket (SCM_RIGHTS), as
 * OpenSSH's mm_send_fd/mm_receive_fd do: the descriptors ride on the first byte of a
 * message, so a receiver that reads the whole message has them all. Writes never
 * raise SIGPIPE (MSG_NOSIGNAL): a peer that went away is an error, not a death.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pagepull.h"

int fdpass_send(int sock, const void *p, size_t n, const int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} c;
	const char *s = p;
	while (n > 0) {
		struct iovec iov = { .iov_base = (void *)s, .iov_len = n };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (nfds > 0) {
			memset(&c, 0, sizeof c);
			m.msg_control = c.space;
			m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
			struct cmsghdr *h = CMSG_FIRSTHDR(&m);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
			memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)nfds);
		}
		ssize_t w = sendmsg(sock, &m, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		nfds = 0;	/* sent with the first byte */
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Exactly n bytes (0), or -1 on an error or an early end; the descriptors that came
 * with them into fds (at most *nfds; *nfds is set to the count received). */
int fdpass_recv(int sock, void *p, size_t n, int *fds, int *nfds)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} c;
	int want = nfds ? *nfds : 0, got = 0;
	char *d = p;
	while (n > 0) {
		struct iovec iov = { .iov_base = d, .iov_len = n };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.space,
				    .msg_controllen = sizeof c.space };
		ssize_t r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (r == -1 && errno == EINTR)
			continue;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); r > 0 && h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int)), fd;
			for (int i = 0; i < k; i++) {
				memcpy(&fd, CMSG_DATA(h) + sizeof(int) * (size_t)i, sizeof fd);
				if (got < want)
					fds[got++] = fd;
				else
					close(fd);	/* more than asked for: not ours to keep */
			}
		}
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			break;
		}
		d += r;
		n -= (size_t)r;
	}
	if (nfds)
		*nfds = got;
	return n ? -1 : 0;
}
