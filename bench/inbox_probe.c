// inbox_probe.c — drives an inbox consumer (the homelab observer, or a peer mover) with the
// same files and measures it. Completion is observed with inotify (no polling):
//   observer:DIR  done when DIR/observer_checkpoint.json (renamed in) reaches the wanted seq
//   mover:DIR     done when the wanted number of files were renamed/written into DIR
//   world:DIR     (lat only) done when DIR/<resource>.json is renamed in (the world file)
//
//   inbox_probe stage STAGE N PREFIX RESOURCES
//       pre-writes N valid CloudEvents files STAGE/.PREFIX-NNNNNNN (untimed): resource.observed
//       for container/bench/rK with K = i % RESOURCES, ids PREFIX-i
//   inbox_probe drop STAGE INBOX N PREFIX
//       renames them into INBOX/PREFIX-NNNNNNN.json (untimed; for a backlog test)
//   inbox_probe thr STAGE INBOX N PREFIX DONE
//       renames them into INBOX as fast as possible, waits for DONE (N more), prints events/s
//   inbox_probe run N DONE -- COMMAND...
//       sets up the DONE watch, starts COMMAND, waits for DONE, prints the time from start,
//       the child's peak and current RSS, then SIGTERMs it (backlog drain, replay)
//   inbox_probe lat STAGE INBOX N GAP_MS DONE
//       N times: write one file (untimed), t0, rename it in, wait for DONE, t1. With world:DIR,
//       the file updates resource latK (K = i % 20) and DONE is latK.json renamed into DIR;
//       with mover:DIR it is the file itself arriving in DIR. Prints percentiles in us.
// Output lines are key=value. Gives up after 20 s without progress.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe_stats.h"

static void die(const char *what) { perror(what); exit(1); }

static void write_event(const char *path, const char *prefix, long i, const char *resource) {
  char body[512];
  int n = snprintf(body, sizeof body,
                   "{\"specversion\":\"1.0\",\"id\":\"%s-%ld\",\"type\":\"resource.observed\",\"source\":\"node/bench\","
                   "\"subject\":\"container/bench/%s\",\"data\":{\"state\":\"running\",\"image\":\"bench/app:1.%ld\","
                   "\"health\":\"healthy\",\"n\":%ld}}\n",
                   prefix, i, resource, i % 97, i);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, body, n) != n) die(path);
  close(fd);
}

// --- completion conditions -------------------------------------------------------------
enum kind { OBSERVER, MOVER, WORLD };
struct done {
  enum kind kind;
  char dir[PATH_MAX];
  int fd;
  long count;      // MOVER: files seen
  long seq;        // OBSERVER: last checkpoint seq read
  char want[256];  // WORLD/MOVER lat: the name to wait for
  int hit;
  int overflowed;
};

static void done_init(struct done *d, const char *spec) {
  const char *colon = strchr(spec, ':');
  if (!colon) { fprintf(stderr, "DONE is observer:DIR, mover:DIR or world:DIR\n"); exit(2); }
  d->kind = !strncmp(spec, "observer", 8) ? OBSERVER : !strncmp(spec, "mover", 5) ? MOVER : WORLD;
  snprintf(d->dir, sizeof d->dir, "%s", colon + 1);
  d->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (d->fd < 0 || inotify_add_watch(d->fd, d->dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) die(d->dir);
}

static long read_checkpoint(const char *dir) {
  char path[PATH_MAX], buf[512];
  snprintf(path, sizeof path, "%s/observer_checkpoint.json", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strstr(buf, "\"seq\":");
  return p ? atol(p + 6) : -1;
}

static char ibuf[1 << 18] __attribute__((aligned(8)));

// Waits up to timeout_ms for events; returns 1 if something relevant happened, 0 on timeout.
static int done_step(struct done *d, int timeout_ms) {
  struct pollfd p = {.fd = d->fd, .events = POLLIN};
  if (poll(&p, 1, timeout_ms) <= 0) return 0;
  int progress = 0;
  ssize_t len;
  while ((len = read(d->fd, ibuf, sizeof ibuf)) > 0) {
    for (char *q = ibuf; q < ibuf + len;) {
      struct inotify_event *e = (struct inotify_event *)q;
      if (e->mask & IN_Q_OVERFLOW) d->overflowed = 1;
      if (e->len) {
        if (d->kind == OBSERVER && !strcmp(e->name, "observer_checkpoint.json")) {
          long seq = read_checkpoint(d->dir);
          if (seq > d->seq) { d->seq = seq; progress = 1; }
        } else if (d->kind == MOVER && e->name[0] != '.') {
          d->count++;
          progress = 1;
          if (d->want[0] && strstr(e->name, d->want)) d->hit = 1;  // movers prefix a seq
        } else if (d->kind == WORLD && !strcmp(e->name, d->want)) {
          d->hit = 1;
          progress = 1;
        }
      }
      q += sizeof *e + e->len;
    }
  }
  return progress;
}

static long done_progress(struct done *d) { return d->kind == OBSERVER ? d->seq : d->count; }

// Waits until progress reaches target; returns the time of the last progress.
static double done_wait(struct done *d, long target, double t_last) {
  while (done_progress(d) < target) {
    double quiet = now() - t_last;
    if (quiet > 20) break;  // 20 s without progress: lost files
    if (done_step(d, (int)((20 - quiet) * 1000) + 1)) t_last = now();
  }
  if (d->kind == MOVER && d->overflowed) {  // our own queue overflowed: count the folder
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls -f '%s' | grep -vc '^\\.'", d->dir);
    FILE *f = popen(cmd, "r");
    if (f && fscanf(f, "%ld", &d->count) != 1) d->count = 0;
    if (f) pclose(f);
  }
  return t_last;
}

static long rss_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, strlen(field))) kb = atol(line + strlen(field) + 1);
  if (f) fclose(f);
  return kb;
}


int main(int argc, char **argv) {
  if (argc < 2) goto usage;
  const char *mode = argv[1];
  char src[PATH_MAX], dst[PATH_MAX], name[64];
  if (!strcmp(mode, "stage") && argc == 6) {
    long n = atol(argv[3]), resources = atol(argv[5]);
    for (long i = 0; i < n; i++) {
      char resource[32];
      snprintf(resource, sizeof resource, "r%ld", i % resources);
      snprintf(src, sizeof src, "%s/.%s-%07ld", argv[2], argv[4], i);
      write_event(src, argv[4], i, resource);
    }
    printf("staged n=%ld\n", n);
    return 0;
  }
  if ((!strcmp(mode, "drop") && argc == 6) || (!strcmp(mode, "thr") && argc == 7)) {
    long n = atol(argv[4]);
    struct done d = {0};
    int thr = !strcmp(mode, "thr");
    if (thr) {
      done_init(&d, argv[6]);
      if (d.kind == OBSERVER) d.seq = read_checkpoint(d.dir);
    }
    long base = thr ? done_progress(&d) : 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
      snprintf(src, sizeof src, "%s/.%s-%07ld", argv[2], argv[5], i);
      snprintf(dst, sizeof dst, "%s/%s-%07ld.json", argv[3], argv[5], i);
      if (rename(src, dst)) die("rename");
      if (thr && (i & 255) == 0) done_step(&d, 0);  // keep our own queue short
    }
    double t_drop = now();
    if (!thr) { printf("dropped n=%ld drop_s=%.3f\n", n, t_drop - t0); return 0; }
    double t_last = done_wait(&d, base + n, t_drop);
    long got = done_progress(&d) - base;
    printf("thr n=%ld done=%ld drop_s=%.3f total_s=%.3f events_per_s=%.0f\n", n, got, t_drop - t0, t_last - t0,
           got / (t_last - t0));
    return got >= n ? 0 : 3;
  }
  if (!strcmp(mode, "run") && argc >= 6 && !strcmp(argv[4], "--")) {
    long n = atol(argv[2]);
    struct done d = {0};
    done_init(&d, argv[3]);
    double t0 = now();
    pid_t child = fork();
    if (child == 0) {
      setpgid(0, 0);
      execvp(argv[5], argv + 5);
      die(argv[5]);
    }
    double t_last = done_wait(&d, n, t0);
    long peak = rss_kb(child, "VmHWM:"), rss = rss_kb(child, "VmRSS:");
    kill(-child, SIGTERM);
    waitpid(child, NULL, 0);
    printf("run n=%ld done=%ld total_s=%.3f events_per_s=%.0f peak_rss_kb=%ld rss_kb=%ld\n", n, done_progress(&d),
           t_last - t0, done_progress(&d) / (t_last - t0), peak, rss);
    return done_progress(&d) >= n ? 0 : 3;
  }
  if (!strcmp(mode, "lat") && argc == 7) {
    long n = atol(argv[4]);
    int gap_ms = atoi(argv[5]);
    struct done d = {0};
    done_init(&d, argv[6]);
    double *lat = calloc(n, sizeof *lat);
    long got = 0, lost = 0;
    snprintf(src, sizeof src, "%s/.lat", argv[2]);
    for (long i = 0; i < n; i++) {
      char resource[32];
      snprintf(resource, sizeof resource, "lat%ld", i % 20);
      write_event(src, "lat", i, resource);
      snprintf(dst, sizeof dst, "%s/lat-%07ld.json", argv[3], i);
      snprintf(name, sizeof name, "lat-%07ld.json", i);
      snprintf(d.want, sizeof d.want, "%s", d.kind == WORLD ? resource : name);
      if (d.kind == WORLD) strcat(d.want, ".json");
      d.hit = 0;
      while (done_step(&d, 0)) {}  // drain anything earlier
      d.hit = 0;
      double t0 = now();
      if (rename(src, dst)) die("rename");
      while (!d.hit && now() - t0 < 2) done_step(&d, 100);
      if (!d.hit) { lost++; continue; }
      lat[got++] = (now() - t0) * 1e6;
      if (gap_ms) usleep(gap_ms * 1000);
    }
    if (!got) { printf("lat n=%ld lost=%ld\n", n, lost); return 3; }
    printf("lat n=%ld lost=%ld", n, lost);
    print_percentiles(lat, got);
    return 0;
  }
usage:
  fprintf(stderr,
          "usage: inbox_probe stage STAGE N PREFIX RESOURCES | drop STAGE INBOX N PREFIX |\n"
          "       thr STAGE INBOX N PREFIX DONE | run N DONE -- COMMAND... | lat STAGE INBOX N GAP_MS DONE\n");
  return 2;
}
