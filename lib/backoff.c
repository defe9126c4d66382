/*
 * backoff.c — how long to wait before retrying: exponential backoff with "equal
 * jitter" (half the delay fixed, half random, so that clients that failed
 * together do not retry together), and a sleep that an interrupting signal does
 * not cut short. (Retry-After parsing lives in http.c: it needs libcurl, and
 * paginate, which backs off too, should not load libcurl at every start.)
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pagepull.h"

double backoff_delay(double base, unsigned retry, double cap)
{
	double d = base * ldexp(1.0, retry > 1 ? (int)(retry > 60 ? 60 : retry) - 1 : 0);
	if (cap > 0 && d > cap)
		d = cap;
	return d / 2 + d / 2 * ((double)arc4random() / 4294967296.0);
}

void sleep_secs(double s)
{
	if (!(s > 0))
		return;
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
