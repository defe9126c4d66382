/* clock.c — the one clock for deadlines, waits and progress: CLOCK_MONOTONIC in seconds,
 * so that a wall-clock step (NTP, a suspended laptop) moves no deadline. */
#include <time.h>
#include "pagepull.h"

double clock_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
