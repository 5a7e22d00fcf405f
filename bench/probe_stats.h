// Shared by the bench probes: a monotonic clock and nearest-rank percentiles.
#ifndef PROBE_STATS_H
#define PROBE_STATS_H
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// Sorts v and prints " p50_us= p90_us= p99_us= max_us= mean_us=" (v in microseconds).
static void print_percentiles(double *v, long n) {
  qsort(v, n, sizeof *v, cmp_double);
  double sum = 0;
  for (long i = 0; i < n; i++) sum += v[i];
#define PCT(p) v[(long)((p) / 100.0 * n + 0.999999) - 1 < 0 ? 0 : (long)((p) / 100.0 * n + 0.999999) - 1]
  printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n", PCT(50), PCT(90), PCT(99), v[n - 1], sum / n);
#undef PCT
}
#endif
