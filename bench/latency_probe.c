// latency_probe.c — rename → "the watcher said so" latency for any watcher that prints one
// line per file on stdout (`homelab watch DIR`, `inotifywait -m DIR`, ...).
//
//   latency_probe DIR STAGE N -- COMMAND [ARGS...]
//
// Starts COMMAND with its stdout on a pipe, waits until it reports a probe file, then N
// times: writes STAGE/.lat (untimed), takes t0, renames it to DIR/lat-I.json, blocks on the
// pipe until a line ending in "lat-I.json" arrives, takes t1. STAGE must be on DIR's
// filesystem. Prints: n= lost= p50_us= p90_us= p99_us= max_us= mean_us=
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe_stats.h"

static char buf[1 << 16];
static size_t have;

// Reads lines from fd until one ends with `want`; 0 on success, -1 after timeout_ms of silence.
static int await_line(int fd, const char *want, int timeout_ms) {
  size_t wl = strlen(want);
  for (;;) {
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', have - (start - buf)))) {
      size_t len = nl - start;
      int hit = len >= wl && !memcmp(nl - wl, want, wl);
      start = nl + 1;
      if (hit) {
        have -= start - buf;
        memmove(buf, start, have);
        return 0;
      }
    }
    have -= start - buf;
    memmove(buf, start, have);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) return -1;
    ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
    if (n <= 0) return -1;
    have += n;
  }
}

static void write_file(const char *path, long i) {
  char body[160];
  int n = snprintf(body, sizeof body, "{\"type\":\"bench.latency\",\"source\":\"probe\",\"data\":{\"i\":%ld}}\n", i);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, body, n) != n) { perror(path); exit(1); }
  close(fd);
}


int main(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--")) {
    fprintf(stderr, "usage: %s DIR STAGE N -- COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1], *stage = argv[2];
  long n = atol(argv[3]);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC)) { perror("pipe"); return 1; }
  pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);
    dup2(fds[1], 1);
    execvp(argv[5], argv + 5);
    perror(argv[5]);
    _exit(127);
  }
  close(fds[1]);
  char tmp[4096], dst[4096], want[64];
  snprintf(tmp, sizeof tmp, "%s/.lat", stage);
  // Ready when a probe file is reported (a watcher may still be setting up its watch).
  int ready = 0;
  for (int attempt = 0; attempt < 100 && !ready; attempt++) {
    write_file(tmp, attempt);
    snprintf(dst, sizeof dst, "%s/probe-%d.json", dir, attempt);
    snprintf(want, sizeof want, "probe-%d.json", attempt);
    rename(tmp, dst);
    ready = await_line(fds[0], want, 100) == 0;
  }
  if (!ready) { fprintf(stderr, "watcher never reported a probe file\n"); kill(-child, SIGKILL); return 1; }
  double *lat = calloc(n, sizeof *lat);
  long got = 0, lost = 0;
  for (long i = 1; i <= n; i++) {
    write_file(tmp, i);
    snprintf(dst, sizeof dst, "%s/lat-%ld.json", dir, i);
    snprintf(want, sizeof want, "/lat-%ld.json", i);
    double t0 = now();
    if (rename(tmp, dst)) { perror("rename"); return 1; }
    if (await_line(fds[0], want, 2000)) { lost++; continue; }
    lat[got++] = (now() - t0) * 1e6;
  }
  kill(-child, SIGTERM);
  waitpid(child, NULL, 0);
  if (!got) { printf("n=%ld lost=%ld\n", n, lost); return 3; }
  printf("n=%ld lost=%ld", n, lost);
  print_percentiles(lat, got);
  return 0;
}
