// world_probe.c — world change → proposal latency for the supervisor.
//
//   world_probe ROOT N
//
// N times: writes world/container/bench/.probe with container/bench/rI observed "exited"
// (untimed), takes t0, renames it to rI.json (as the observer does), and blocks until a new
// proposal file is renamed into actions/pending/ (inotify), t1. Each round uses a fresh
// resource, so every change is a new drift. Prints percentiles in microseconds.
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "probe_stats.h"

static char ibuf[1 << 16] __attribute__((aligned(8)));

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: world_probe ROOT N\n"); return 2; }
  const char *root = argv[1];
  long n = atol(argv[2]);
  char pending[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX], body[512];
  snprintf(pending, sizeof pending, "%s/actions/pending", root);
  snprintf(tmp, sizeof tmp, "%s/world/container/bench/.probe", root);
  int in = inotify_init1(IN_CLOEXEC);
  if (in < 0 || inotify_add_watch(in, pending, IN_MOVED_TO) < 0) { perror(pending); return 1; }
  double *lat = calloc(n, sizeof *lat);
  long got = 0, lost = 0;
  for (long i = 0; i < n; i++) {
    int len = snprintf(body, sizeof body,
                       "{\"kind\":\"container\",\"name\":\"bench/r%ld\",\"observed\":{\"state\":\"exited\",\"image\":\"bench/app:1\"},"
                       "\"lastSeen\":\"2026-11-26T15:00:00Z\",\"source\":\"bench\",\"seq\":%ld}\n", i, 1000000 + i);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, body, len) != len) { perror(tmp); return 1; }
    close(fd);
    snprintf(dst, sizeof dst, "%s/world/container/bench/r%ld.json", root, i);
    double t0 = now();
    if (rename(tmp, dst)) { perror("rename"); return 1; }
    int hit = 0;
    while (!hit && now() - t0 < 2) {
      struct pollfd p = {.fd = in, .events = POLLIN};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t r = read(in, ibuf, sizeof ibuf);
      for (char *q = ibuf; r > 0 && q < ibuf + r;) {
        struct inotify_event *e = (struct inotify_event *)q;
        if (e->len && e->name[0] != '.') hit = 1;
        q += sizeof *e + e->len;
      }
    }
    if (!hit) { lost++; continue; }
    lat[got++] = (now() - t0) * 1e6;
    usleep(2000);
  }
  if (!got) { printf("lat n=%ld lost=%ld\n", n, lost); return 3; }
  printf("lat n=%ld lost=%ld", n, lost);
  print_percentiles(lat, got);
  return 0;
}
