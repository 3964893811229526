/* bench/stats.h — the percentiles both benchmark drivers report. */
#ifndef POLO_BENCH_STATS_H
#define POLO_BENCH_STATS_H

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p% of runs at or below. */
static double pct(const double *sorted, long n, double p)
{
	long k = (long)((p / 100.0) * (double)n + 0.999999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

#endif
