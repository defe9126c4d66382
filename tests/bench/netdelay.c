/*
 * netdelay — a round trip in user space, for the network-latency benchmark: two TUN
 * devices (IFF_TUN, no packet info), each later moved into a network namespace of its
 * own, and every IP packet read from one written to the other DELAY_MS later, in order.
 * This kernel has no netem (nor fq), so a delay is made here. Prints "ready" once both
 * devices exist; ends on SIGTERM. Built and run by tests/bench/netns.sh (needs root).
 *   usage: netdelay DEV_A DEV_B DELAY_MS
 */
#include <err.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QMAX 65536		/* packets held per direction */
#define PKT 65536

struct pkt { double due; size_t len; unsigned char *p; };
struct queue { struct pkt q[QMAX]; size_t head, n; };
static struct queue dir[2];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int tun(const char *name)
{
	struct ifreq r = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd == -1)
		err(1, "/dev/net/tun");
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", name);
	if (ioctl(fd, TUNSETIFF, &r) == -1)
		err(1, "%s", name);
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		errx(2, "usage: netdelay DEV_A DEV_B DELAY_MS");
	double delay = atof(argv[3]) / 1000;
	int fd[2] = { tun(argv[1]), tun(argv[2]) };
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		double t = now(), next = -1;
		for (int d = 0; d < 2; d++) {	/* what is due goes out */
			struct queue *q = &dir[d];
			while (q->n && q->q[q->head].due <= t) {
				struct pkt *k = &q->q[q->head];
				if (write(fd[!d], k->p, k->len) == -1) { /* dropped, as a full link would */ }
				free(k->p);
				q->head = (q->head + 1) % QMAX;
				q->n--;
			}
			if (q->n && (next < 0 || q->q[q->head].due < next))
				next = q->q[q->head].due;
		}
		struct pollfd p[2] = { { fd[0], POLLIN, 0 }, { fd[1], POLLIN, 0 } };
		double wait = next < 0 ? 0 : next - t;
		struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
		if (ppoll(p, 2, next < 0 ? NULL : &ts, NULL) == -1)	/* ns timeouts: an exact delay */
			continue;
		for (int d = 0; d < 2; d++) {
			if (!(p[d].revents & POLLIN))
				continue;
			unsigned char buf[PKT];
			ssize_t n;
			while ((n = read(fd[d], buf, sizeof buf)) > 0 && dir[d].n < QMAX) {
				struct queue *q = &dir[d];
				struct pkt *k = &q->q[(q->head + q->n) % QMAX];
				k->due = now() + delay;
				k->len = (size_t)n;
				k->p = malloc((size_t)n);
				if (!k->p)
					err(1, "malloc");
				memcpy(k->p, buf, (size_t)n);
				q->n++;
			}
		}
	}
}
