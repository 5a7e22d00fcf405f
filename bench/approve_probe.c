// approve_probe.c — executor figures.
//
//   approve_probe lat ROOT MARKERS N
//       N times: writes an action file (untimed) for catalog entry "touch" (argv touch
//       MARKERS/{name}), takes t0, renames it into ROOT/actions/approved/, and blocks until
//       the child has created MARKERS/mI (inotify): rename → child started and ran, in us.
//   approve_probe thr ROOT N
//       writes N action files for catalog entry "true" (untimed), renames them all into
//       approved/, and waits until N results are in actions/done/: actions per second.
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe_stats.h"

static char ibuf[1 << 16] __attribute__((aligned(8)));

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t n = strlen(text);
  if (fd < 0 || write(fd, text, n) != (ssize_t)n) { perror(path); exit(1); }
  close(fd);
}

// Counts names renamed/written into the watched folder until `want` (or `name`) is seen.
static long wait_for(int in, const char *name, long want, long *seen, double limit) {
  double start = now();
  while (now() - start < limit) {
    struct pollfd p = {.fd = in, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t r = read(in, ibuf, sizeof ibuf);
    for (char *q = ibuf; r > 0 && q < ibuf + r;) {
      struct inotify_event *e = (struct inotify_event *)q;
      if (e->len && e->name[0] != '.') {
        (*seen)++;
        if (name && !strcmp(e->name, name)) return 1;
      }
      q += sizeof *e + e->len;
    }
    if (!name && *seen >= want) return 1;
  }
  return 0;
}

// What the observer folds for a proposal and its approval: the executor runs only what the
// log shows proposed (SPEC §6), so each action gets its record before it is approved.
static void record(const char *root, const char *id) {
  char path[PATH_MAX], text[512];
  snprintf(path, sizeof path, "%s/world/action", root);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/world/action/%s.json", root, id);
  snprintf(text, sizeof text,
           "{\"kind\":\"action\",\"name\":\"%s\",\"observed\":{\"state\":\"approved\"},\"lastSeen\":\"2026-01-01T00:00:00Z\","
           "\"source\":\"bench\",\"seq\":2,\"lifecycle\":[{\"step\":\"proposed\",\"actor\":\"supervisor\",\"time\":\"2026-01-01T00:00:00Z\",\"seq\":1},"
           "{\"step\":\"approved\",\"actor\":\"bench\",\"time\":\"2026-01-01T00:00:00Z\",\"seq\":2}]}\n", id);
  write_file(path, text);
}

int main(int argc, char **argv) {
  char src[PATH_MAX], dst[PATH_MAX], text[512], name[64];
  if (argc == 5 && !strcmp(argv[1], "lat")) {
    const char *root = argv[2], *markers = argv[3];
    long n = atol(argv[4]), got = 0, lost = 0, seen = 0;
    int in = inotify_init1(IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, markers, IN_CREATE) < 0) { perror(markers); return 1; }
    double *lat = calloc(n, sizeof *lat);
    snprintf(src, sizeof src, "%s/actions/.probe", root);
    for (long i = 0; i < n; i++) {
      snprintf(text, sizeof text, "{\"id\":\"lat%ld\",\"action\":\"touch\",\"args\":{\"name\":\"m%ld\"},\"resource\":\"bench/r%ld\"}", i, i, i);
      write_file(src, text);
      snprintf(name, sizeof name, "lat%ld", i);
      record(root, name);
      snprintf(dst, sizeof dst, "%s/actions/approved/lat%ld.json", root, i);
      snprintf(name, sizeof name, "m%ld", i);
      double t0 = now();
      if (rename(src, dst)) { perror("rename"); return 1; }
      if (!wait_for(in, name, 0, &seen, 2)) { lost++; continue; }
      lat[got++] = (now() - t0) * 1e6;
      usleep(5000);
    }
    if (!got) { printf("lat n=%ld lost=%ld\n", n, lost); return 3; }
    printf("lat n=%ld lost=%ld", n, lost);
    print_percentiles(lat, got);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "thr")) {
    const char *root = argv[2];
    long n = atol(argv[3]), seen = 0;
    char done[PATH_MAX];
    snprintf(done, sizeof done, "%s/actions/done", root);
    int in = inotify_init1(IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, done, IN_MOVED_TO) < 0) { perror(done); return 1; }
    for (long i = 0; i < n; i++) {
      snprintf(src, sizeof src, "%s/actions/.thr%ld", root, i);
      snprintf(text, sizeof text, "{\"id\":\"thr%ld\",\"action\":\"true\",\"args\":{},\"resource\":\"bench/t%ld\"}", i, i);
      write_file(src, text);
      char id[64];
      snprintf(id, sizeof id, "thr%ld", i);
      record(root, id);
    }
    double t0 = now();
    for (long i = 0; i < n; i++) {
      snprintf(src, sizeof src, "%s/actions/.thr%ld", root, i);
      snprintf(dst, sizeof dst, "%s/actions/approved/thr%ld.json", root, i);
      if (rename(src, dst)) { perror("rename"); return 1; }
    }
    wait_for(in, NULL, n, &seen, 120);
    double t = now() - t0;
    printf("thr n=%ld done=%ld total_s=%.3f actions_per_s=%.0f\n", n, seen, t, seen / t);
    return seen >= n ? 0 : 3;
  }
  fprintf(stderr, "usage: approve_probe lat ROOT MARKERS N | thr ROOT N\n");
  return 2;
}
