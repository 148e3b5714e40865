/*
 * progress.c - a one-line progress meter on stderr, like git's.
 *
 * Called from worker threads through progress_update(), so updates are
 * serialised and throttled to a few per second.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "builtin.h"

/* Below this, the work finishes before a meter would be readable. */
#define PROGRESS_MIN_BYTES (64u << 20)

struct progress {
	const char *title;
	const char *unit;	/* of a count; NULL: bytes, shown in MiB */
	uint64_t total;
	uint64_t done;
	double start, last_draw;
	double delay;		/* seconds of work before the first draw */
	int drawn;
	pthread_mutex_t lock;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct progress *progress_new(const char *title, uint64_t total, const char *unit,
				     double delay)
{
	struct progress *p;

	if (!isatty(2) || getenv("MBR_NO_PROGRESS"))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->title = title;
	p->unit = unit;
	p->total = total;
	p->delay = delay;
	p->start = p->last_draw = now();
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

struct progress *progress_start(const char *title, uint64_t total)
{
	return total < PROGRESS_MIN_BYTES ? NULL : progress_new(title, total, NULL, 0);
}

/* A count shows up once the work has taken a second (git's delayed
 * progress): most evaluations of small models end before that. */
struct progress *progress_start_count(const char *title, uint64_t total, const char *unit)
{
	return progress_new(title, total, unit, 1.0);
}

/* Bytes whose total the work reports as it goes: delayed like a count. */
struct progress *progress_start_delayed(const char *title)
{
	return progress_new(title, 0, NULL, 1.0);
}

static void draw(struct progress *p)
{
	unsigned pct = p->total ? (unsigned)(100.0 * p->done / p->total) : 100;

	if (p->unit)
		fprintf(stderr, "\r%s: %3u%% (%llu/%llu %s)", p->title, pct,
			(unsigned long long)p->done, (unsigned long long)p->total, p->unit);
	else
		fprintf(stderr, "\r%s: %3u%% (%llu/%llu MiB)", p->title, pct,
			(unsigned long long)(p->done >> 20),
			(unsigned long long)(p->total >> 20));
	p->drawn = 1;
}

/* done is the amount finished since the previous call (a delta), which
 * lets several threads report without sharing a counter of their own. */
void progress_update(void *payload, uint64_t done, uint64_t total)
{
	struct progress *p = payload;
	double t;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->done += done;
	if (total)
		p->total = total;
	t = now();
	if (t - p->last_draw > 0.2 && t - p->start >= p->delay) {
		p->last_draw = t;
		draw(p);
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_stop(struct progress *p)
{
	if (!p)
		return;
	if (p->drawn) {
		p->done = p->total;
		draw(p);
		fputs(", done.\n", stderr);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}
